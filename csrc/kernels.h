/* Every kernel body, stamped per dtype (isa_stamp.h) by each ISA unit (unit_*.c): the
 * element-wise optimisers (their math files and the driver), the optimisers with per-tensor
 * passes (LAMB, LARS, Adafactor), the norms and the fills. NAME(x) is x_<dtype>_<unit>. */
#define NAME(x) PYWD_CONCAT(x, PYWD_SUFFIX)

#include "weight_decay.h"
#include "lerp.h"
#include "trust_ratio.h"
#include "optim/driver.h"

#include "optim/sgd.h"
#include "optim/adam.h"
#include "optim/rmsprop.h"
#include "optim/adagrad.h"
#include "optim/lion.h"
#include "optim/adamax.h"
#include "optim/radam.h"
#include "optim/nadam.h"
#include "optim/adadelta.h"
#include "optim/rprop.h"
#include "optim/asgd.h"
#include "optim/schedulefree.h"
#include "optim/muon.h"
#include "optim/decay.h"
#include "optim/ademamix.h"

#include "optim/scaled_pass.h"
#include "optim/lamb.h"
#include "optim/lars.h"
#include "optim/adafactor.h"
#include "norm_impl.h"
#include "fill_impl.h"
#include "rounding_bits.h"
#include "q8_convert.h"

#undef NAME
