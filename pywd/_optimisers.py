"""The table of pywd's optimisers, as data, in one place.

Two levels:
- KERNELS: the element-wise optimisers' C entry points (csrc/optim/list.h). For each, the
  arrays its calls hand over, in the order the glue adds them to a call's batch, with the
  C slot each goes to and the condition (a C expression on the hyper-parameters `h`) under
  which the call has it (and the error when it is missing), and the hyper-parameters that
  must be finite in float32. The Cython glue that builds, checks and runs a call's batch
  (<name>_update) and the declarations of the hyper-parameter structs (from csrc/pywd.h) are
  generated from this at build time (setup.py renders pywd/_core/_elementwise.pxi.tp).
- CHECKS: each hyper-parameter struct's fields with their rules (ranges), from which the
  functions' checks are generated.
- UPDATES: the functional updates (pywd.<name>), each with its kernel, its state arrays
  (and which must stay non-negative: second moments, sums of squares, step sizes), its class
  in pywd.optim (whose state keys are the arrays' names in the singular; the class names its
  row, table_row), its torch.optim twin (or the origin of its constructor) and its default
  decay. The stubs, the export lists, pywd.torch's classes and the API reference's entries
  are generated from it (tests/generate.py), and the tests' per-optimiser tables take their
  rows from here.

Pure data with no imports from pywd: setup.py loads this file by path, before pywd is built.
"""
from typing import NamedTuple, Optional


class Array(NamedTuple):
    name: str                    # the functional argument
    slot: int                    # the C slot (pywd.h: 0 params, 1 grads, 2..4 state)
    when: Optional[str] = None   # C condition on the hyper-parameters `h` (None: always)
    required: Optional[str] = None   # the error when `when` holds and the argument is None

    @property
    def written(self):
        return self.slot != 1    # all but the gradients are updated in place


class Kernel(NamedTuple):
    hyper: str                   # the C struct of its hyper-parameters
    arrays: tuple                # Array, in the batch's order
    # The hyper-parameters (fields of `h`) that must be finite in float32 when the arrays
    # are, named in errors by the field's last part; None: the kernel's calls are made by
    # hand (Muon's two halves, the bare decay step, which has no gradients), not by the
    # generated <name>_update
    finite: Optional[tuple] = None


class State(NamedTuple):
    name: str                    # the functional argument
    nonnegative: bool = False    # a second moment, a sum of squares, a step size
    optional: bool = False       # None unless an option asks for it
    key: Optional[str] = None    # the class's state key (torch's), if not name less its "s"

    @property
    def state_key(self):
        return self.key or self.name[:-1]


class Update(NamedTuple):
    kernel: Optional[str]        # its KERNELS entry (None: a kernel with passes of its own)
    state: tuple                 # State, in the function's argument order
    cls: Optional[str]           # its class in pywd.optim
    torch: Optional[str]         # torch.optim's class of the same step, if any
    # its default decay= (the function's and the class's): what weight_decay means for this
    # name in torch (or the paper, without a torch twin): "l2" coupled, "decoupled" AdamW's
    decay: str = "l2"
    # whose constructor its class follows, when not its torch twin's (pywd.torch's class
    # docstring says it)
    origin: Optional[str] = None


P, G = Array("params", 0), Array("grads", 1)
ZEROS = "pass arrays like params (zeros before the first step)"
LR_EPS = ("lr", "eps", "decay.weight_decay")
KERNELS = {
    "sgd": Kernel("pywd_sgd_hyper",
                  (P, G, Array("momentum_buffers", 2, "h.momentum != 0.0",
                               "momentum_buffers are required when momentum > 0: pass arrays "
                               "like params (zeros, with first_step=True on the first step)")),
                  ("lr", "momentum", "decay.weight_decay")),
    "adam": Kernel("pywd_adam_hyper",
                   (P, G, Array("exp_avgs", 2), Array("exp_avg_sqs", 3),
                    Array("max_exp_avg_sqs", 4, "h.amsgrad",
                          "max_exp_avg_sqs are required when amsgrad=True: " + ZEROS)), LR_EPS),
    "rmsprop": Kernel("pywd_rmsprop_hyper",
                      (P, G, Array("square_avgs", 2),
                       Array("momentum_buffers", 3, "h.momentum != 0.0",
                             "momentum_buffers are required when momentum > 0: " + ZEROS),
                       Array("grad_avgs", 4, "h.centered",
                             "grad_avgs are required when centered=True: " + ZEROS)),
                      LR_EPS + ("momentum",)),
    "adagrad": Kernel("pywd_adagrad_hyper", (P, G, Array("state_sums", 2)), LR_EPS),
    "lion": Kernel("pywd_lion_hyper", (P, G, Array("exp_avgs", 2)),
                   ("lr", "decay.weight_decay")),
    "adamax": Kernel("pywd_adamax_hyper", (P, G, Array("exp_avgs", 2), Array("exp_infs", 3)),
                     LR_EPS),
    "radam": Kernel("pywd_radam_hyper", (P, G, Array("exp_avgs", 2), Array("exp_avg_sqs", 3)),
                    LR_EPS),
    "nadam": Kernel("pywd_nadam_hyper", (P, G, Array("exp_avgs", 2), Array("exp_avg_sqs", 3)),
                    LR_EPS),
    "adadelta": Kernel("pywd_adadelta_hyper",
                       (P, G, Array("square_avgs", 2), Array("acc_deltas", 3)), LR_EPS),
    "rprop": Kernel("pywd_rprop_hyper", (P, G, Array("prevs", 2), Array("step_sizes", 3)),
                    ("lr", "etaplus", "step_size_max", "decay.weight_decay")),
    "asgd": Kernel("pywd_asgd_hyper", (P, G, Array("axs", 2)), ("eta", "decay.weight_decay")),
    "schedulefree": Kernel("pywd_schedulefree_hyper",
                           (P, G, Array("zs", 2), Array("exp_avg_sqs", 3, "h.adaptive")),
                           LR_EPS),
    # Muon's two element-wise halves around the orthogonalisation (the params only read in
    # the first; the orthogonalised updates only read in the second)
    "muon_momentum": Kernel("pywd_muon_hyper", (P, G, Array("momentum_buffers", 2),
                                                Array("updates", 3))),
    "muon_apply": Kernel("pywd_muon_hyper", (P, Array("updates", 2))),
    "decay": Kernel("pywd_decay_hyper", (P,)),
    "ademamix": Kernel("pywd_ademamix_hyper", (P, G, Array("exp_avgs", 2), Array("exp_avg_sqs", 3),
                                               Array("exp_avg_slows", 4)), LR_EPS),
}

MOMENTS = (State("exp_avgs"), State("exp_avg_sqs", nonnegative=True))
SCHEDULEFREE = "the schedulefree package's arguments; ``train()``/``eval()`` as its"
UPDATES = {
    "sgd": Update("sgd", (State("momentum_buffers", optional=True),), "SGD", "SGD"),
    "sgdw": Update("sgd", (State("momentum_buffers", optional=True),), "SGDW", None,
                   decay="decoupled", origin="SGD with decoupled decay"),
    "adam": Update("adam", MOMENTS + (State("max_exp_avg_sqs", True, True),), "Adam", "Adam"),
    "adamw": Update("adam", MOMENTS + (State("max_exp_avg_sqs", True, True),), "AdamW",
                    "AdamW", decay="decoupled"),
    "rmsprop": Update("rmsprop", (State("square_avgs", nonnegative=True),
                                  State("momentum_buffers", optional=True),
                                  State("grad_avgs", optional=True)), "RMSprop", "RMSprop"),
    "adagrad": Update("adagrad", (State("state_sums", nonnegative=True, key="sum"),),
                      "Adagrad", "Adagrad"),
    "lion": Update("lion", (State("exp_avgs"),), "Lion", None, decay="decoupled",
                   origin="lion_pytorch's arguments"),
    "adamax": Update("adamax", (State("exp_avgs"), State("exp_infs", nonnegative=True)),
                     "Adamax", "Adamax"),
    "radam": Update("radam", MOMENTS, "RAdam", "RAdam"),
    "nadam": Update("nadam", MOMENTS, "NAdam", "NAdam"),
    "adadelta": Update("adadelta", (State("square_avgs", nonnegative=True),
                                    State("acc_deltas", nonnegative=True)), "Adadelta",
                       "Adadelta"),
    "rprop": Update("rprop", (State("prevs"), State("step_sizes", nonnegative=True)),
                    "Rprop", "Rprop"),
    "asgd": Update("asgd", (State("axs"),), "ASGD", "ASGD"),
    "lamb": Update(None, MOMENTS, "Lamb", None, decay="decoupled", origin="timm's arguments"),
    "lars": Update(None, (State("momentum_buffers", optional=True),), "LARS", None,
                   origin="timm's Lars arguments"),
    "adamw_schedulefree": Update("schedulefree", (State("zs"),
                                                  State("exp_avg_sqs", nonnegative=True)),
                                 "AdamWScheduleFree", None, decay="decoupled",
                                 origin=SCHEDULEFREE),
    "sgd_schedulefree": Update("schedulefree", (State("zs"),), "SGDScheduleFree", None,
                               origin=SCHEDULEFREE),
    "muon": Update(None, (State("momentum_buffers"),), "Muon", "Muon", decay="decoupled",
                   origin="torch.optim.Muon's arguments; 2-D parameters only"),
    "ademamix": Update("ademamix", MOMENTS + (State("exp_avg_slows"),), "AdEMAMix", None,
                       decay="decoupled", origin="bitsandbytes' AdEMAMix arguments; "
                       "pytorch-optimizer's state names"),
    "decay": Update("decay", (), None, None, decay="decoupled"),
}

def unsigned_slots(kernel):
    """The state slots of `kernel` that hold non-negative state in every update that runs
    it, a bit per slot: where 8-bit state may use the unsigned map (second moments, sums of
    squares, step sizes). The others change sign and need the signed map."""
    slots = {a.name: a.slot for a in KERNELS[kernel].arrays}
    mask = 0
    for slot in set(slots.values()):
        states = [st for u in UPDATES.values() if u.kernel == kernel for st in u.state
                  if slots.get(st.name) == slot]
        if states and all(st.nonnegative for st in states):
            mask |= 1 << slot
    return mask


# The hyper-parameters' checks, per C struct: field -> its rule, in the order the checks run
# (and so the order their errors come in). Rules: STEP (an int >= 1), BOOL, BETA (a finite
# number in [0, 1)), (low, high) (a finite number in [low, high]), or ("decay", rate) (the
# decay arguments every optimiser takes: weight_decay, decay, max_lr, cautious_decay; rate
# is the C expression of the step's learning rate, for max_lr's ratio). Each struct's
# check_<name>_hyper(&h, ...) is generated from its entry (pywd/_core/_elementwise.pxi.tp)
# and takes the arguments by name; the functions keep by hand only what a rule cannot say:
# NAdam's mu_product, ASGD's schedule, Rprop's eta order and step-size bounds, schedule-free's
# beta1 (named as its caller's) and step, Muon's orthogonalisation options, Adafactor's
# eps pair and beta2_decay, AdEMAMix's warm-ups.
INF = float("inf")
STEP, BOOL, BETA, NONNEG, UNIT = "step", "bool", "beta", (0.0, INF), (0.0, 1.0)
DECAY = ("decay", "h.lr")
CHECKS = {
    "pywd_sgd_hyper": dict(lr=NONNEG, momentum=NONNEG, dampening=UNIT, decay=DECAY,
                           nesterov=BOOL, maximize=BOOL, first_step=BOOL),
    "pywd_adam_hyper": dict(step=STEP, lr=NONNEG, beta1=BETA, beta2=BETA, eps=NONNEG,
                            decay=DECAY, amsgrad=BOOL, maximize=BOOL),
    "pywd_rmsprop_hyper": dict(lr=NONNEG, alpha=UNIT, eps=NONNEG, decay=DECAY,
                               momentum=NONNEG, centered=BOOL, maximize=BOOL),
    "pywd_adagrad_hyper": dict(step=STEP, lr=NONNEG, lr_decay=NONNEG, eps=NONNEG,
                               decay=("decay", "h.lr / (1.0 + (h.step - 1) * h.lr_decay)"),
                               maximize=BOOL),
    "pywd_lion_hyper": dict(lr=NONNEG, beta1=BETA, beta2=BETA, decay=DECAY, maximize=BOOL),
    "pywd_adamax_hyper": dict(step=STEP, lr=NONNEG, beta1=BETA, beta2=BETA, eps=NONNEG,
                              decay=DECAY, maximize=BOOL),
    "pywd_radam_hyper": dict(step=STEP, lr=NONNEG, beta1=BETA, beta2=BETA, eps=NONNEG,
                             decay=DECAY, maximize=BOOL),
    "pywd_nadam_hyper": dict(step=STEP, lr=NONNEG, beta1=BETA, beta2=BETA, eps=NONNEG,
                             momentum_decay=NONNEG, decay=DECAY, maximize=BOOL),
    "pywd_adadelta_hyper": dict(lr=NONNEG, rho=UNIT, eps=NONNEG, decay=DECAY, maximize=BOOL),
    "pywd_rprop_hyper": dict(lr=NONNEG, etaminus=UNIT, etaplus=(1.0, INF),
                             step_size_min=NONNEG, decay=DECAY, maximize=BOOL),
    "pywd_schedulefree_hyper": dict(average_weight=UNIT, lr=NONNEG, beta2=BETA, eps=NONNEG,
                                    decay=DECAY, maximize=BOOL),
    "pywd_ademamix_hyper": dict(step=STEP, lr=NONNEG, beta1=BETA, beta2=BETA, beta3=BETA,
                                alpha=NONNEG, eps=NONNEG, decay=DECAY, maximize=BOOL),
    "pywd_lamb_hyper": dict(step=STEP, lr=NONNEG, beta1=BETA, beta2=BETA, eps=NONNEG,
                            bias_correction=BOOL, trust_clip=BOOL, always_adapt=BOOL,
                            decay=DECAY, maximize=BOOL),
    "pywd_lars_hyper": dict(lr=NONNEG, momentum=NONNEG, dampening=UNIT, trust_coeff=NONNEG,
                            eps=NONNEG, decay=DECAY, nesterov=BOOL, trust_clip=BOOL,
                            always_adapt=BOOL, maximize=BOOL, first_step=BOOL),
    "pywd_muon_hyper": dict(lr=NONNEG, momentum=BETA, nesterov=BOOL, decay=DECAY,
                            maximize=BOOL),
    "pywd_adafactor_hyper": dict(lr=NONNEG, d=(1.0, INF), decay=DECAY, maximize=BOOL),
}

# Adafactor (pywd.adafactor, optim.Adafactor, torch's Adafactor) is not a row: its state,
# factors of each param's variance, is not shaped like the params.
