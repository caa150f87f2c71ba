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


def _advance(list dicts, name, long long limit):
    """Adds one to d[name], a step counter, for each dict d (written at C level: a dict
    subclass's __setitem__ is not called), returning (the values before, -1). If one is not
    an int below `limit`, or is missing, nothing is changed: (values, its index) is returned,
    or the KeyError or TypeError raised. Counters advance together, so an entry equal to
    the one before gets the same new int object."""
    cdef Py_ssize_t i, j, n = len(dicts)
    cdef list before = [None] * n
    last_old, last_new = None, None
    for i in range(n):
        try:
            if not isinstance(dicts[i], dict):
                raise TypeError("not a dict")
            value = (<dict>dicts[i])[name]
        except BaseException:
            for j in range(i):
                (<dict>dicts[j])[name] = before[j]
            raise
        if type(value) is not int or value >= limit:
            for j in range(i):
                (<dict>dicts[j])[name] = before[j]
            return before, i
        before[i] = value
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
