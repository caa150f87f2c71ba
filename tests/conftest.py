import os
from pathlib import Path

from hypothesis import HealthCheck, settings

import pywd

# Hypothesis: a thorough default, a lighter CI profile (PYWD_HYPOTHESIS_PROFILE=ci) and a
# light one for CI's second and third passes over the same sources (serial build,
# sanitizers), which look for what a build changes, not for new inputs.
settings.register_profile("default", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("rebuild", max_examples=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("PYWD_HYPOTHESIS_PROFILE", "default"))


def pytest_report_header(config):
    # Tests must run against the installed package, not the source tree.
    where = Path(pywd.__file__).parent
    return [f"pywd {pywd.__version__} from {where}", f"pywd threads: {pywd.get_num_threads()}"]
