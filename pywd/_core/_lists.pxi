# C-speed loops over Python lists for the optimisers' per-parameter bookkeeping (pywd/optim.py):
# with 10^4 small parameters a Python loop over them costs more than their update. They know
# lists and dicts, not what the optimisers keep in them.

def _columns(list dicts, names, optional=()):
    """For the optimisers' per-parameter state (a list of dicts): {name: [d[name] for d in
    dicts]} for each name, in one pass over the dicts (each is read once: with 10^4 small
    parameters, fetching them dominates); KeyError or TypeError (a None entry) if one lacks
    a name, but for the `optional` names (None where missing)."""
    cdef Py_ssize_t i, k, n = len(dicts), m = len(names)
    cdef list columns = [[None] * n for _ in range(m)]
    cdef list keys = list(names)
    cdef list maybe = [key in optional for key in keys]
    cdef dict entry
    for i in range(n):
        if not isinstance(dicts[i], dict):
            raise TypeError("not a dict")
        entry = <dict>dicts[i]
        for k in range(m):
            (<list>columns[k])[i] = entry.get(keys[k]) if maybe[k] else entry[keys[k]]
    return dict(zip(keys, columns))


def _advance(list dicts, name, long long limit, bint write=True):
    """Adds one to d[name], a step counter, for each dict d (written at C level: a dict
    subclass's __setitem__ is not called), returning (the values before, -1). If one is not
    an int below `limit`, or is missing, nothing is changed: (values, its index) is returned,
    or the KeyError or TypeError raised. Counters advance together, so an entry equal to
    the one before gets the same new int object. With write=False, only reads and checks."""
    cdef Py_ssize_t i, n = len(dicts)
    cdef list before = [None] * n
    last_old, last_new = None, None
    for i in range(n):
        try:
            if not isinstance(dicts[i], dict):
                raise TypeError("not a dict")
            value = (<dict>dicts[i])[name]
        except BaseException:
            if write:
                _restore(dicts[:i], name, before[:i])
            raise
        if type(value) is not int or value >= limit:
            if write:
                _restore(dicts[:i], name, before[:i])
            return before, i
        before[i] = value
        if not write:
            continue
        if value is not last_old:
            last_old, last_new = value, value + 1
        (<dict>dicts[i])[name] = last_new
    return before, -1


def _restore(list dicts, name, list values):
    """d[name] = value for each dict d and value (undoes _advance)."""
    cdef Py_ssize_t i
    for i in range(len(dicts)):
        (<dict>dicts[i])[name] = values[i]


def _count_none(list seq):
    """How many entries of seq are None (``list.count`` would compare arrays with ==)."""
    cdef Py_ssize_t i, count = 0
    for i in range(len(seq)):
        if seq[i] is None:
            count += 1
    return count


# How often a kernel call of a step is made again after a signal's handler raised inside it
# (in its checks, before it wrote anything): a handler raising every time is no chance signal.
cdef int COMMIT_RETRIES = 100


def _commit(list calls, list counters, list scalars, object optimizer, object state,
            list created, long long limit, bint count_skip):
    """Applies a planned optimiser step (pywd/optim/optimizer.py): its kernel calls
    (functools.partial objects of this module's functions, over arrays already checked),
    then its counters advanced ((dicts, name) pairs), its per-parameter scalars set ((dicts,
    name, values)) and optimizer.rounding_step advanced; with no calls (a skipped step, or a
    dry run), drops the state the step created and, with count_skip, counts a skipped step.

    No Python bytecode runs in here but inside the calls' own checks, before they write
    anything (pywd/_muon.pxi keeps it so between its two passes), and that is the only
    place where a signal's handler (Ctrl-C's KeyboardInterrupt, a timer's) can raise during
    the step. Raised in the first call, nothing was written: the state the step created
    (`created`, entries of `state`) is dropped and the exception goes on. Raised in a later
    call, that call is made again and the step completed; the exception is then returned,
    for the caller to raise. So the step is whole or not made. `created` is emptied as this
    starts, so that the caller drops it only if the commit never began."""
    cdef Py_ssize_t k, attempt
    cdef list made = created[:]
    del created[:]
    pending = None
    if not calls:
        _drop_created(state, made)
        if count_skip:
            optimizer.skipped_steps += 1
        return None
    for k in range(len(calls)):
        for attempt in range(COMMIT_RETRIES + 1):
            try:
                calls[k]()
                break
            except BaseException as err:
                if k == 0:
                    _drop_created(state, made)
                    raise
                if pending is None:
                    pending = err
        else:
            raise RuntimeError(f"pywd: a step was interrupted after {k} of its {len(calls)} "
                               f"kernel calls, and the next one failed {COMMIT_RETRIES + 1} "
                               f"times: the step is half-applied") from pending
    for dicts, name in counters:
        _advance(dicts, name, limit)
    for dicts, name, values in scalars:
        _restore(dicts, name, values)
    optimizer.rounding_step += 1
    return pending


def _drop_created(object state, list created):
    """Removes what a step that did not happen created in an optimiser's state (pairs
    (parameter index, name), name None for the parameter's whole entry), latest first, at
    C level (no signal's handler runs in between), counting the change in the state's
    version as a change made through Python is (pywd/optim/optimizer.py: _Counted)."""
    cdef Py_ssize_t k
    for k in range(len(created) - 1, -1, -1):
        index, name = created[k]
        if name is None:
            PyDict_DelItem(state, index)
        else:
            PyDict_DelItem((<dict>state)[index], name)
    if created:
        state.version = state.version + 1

