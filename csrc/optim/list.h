/* The element-wise optimisers, as X(name): each is csrc/optim/<name>.h, its math, stamped by
 * csrc/kernels.h; pywd.h declares and entry.c dispatches their entry points from this list. */
#ifndef PYWD_OPTIM_LIST_H
#define PYWD_OPTIM_LIST_H
#define PYWD_ELEMENTWISE_OPTIMISERS(X)                                                        \
    X(sgd) X(adam) X(rmsprop) X(adagrad) X(lion) X(adamax) X(radam) X(nadam) X(adadelta)       \
    X(rprop) X(asgd) X(schedulefree) X(muon_momentum) X(muon_apply) X(decay) X(ademamix)
#endif
