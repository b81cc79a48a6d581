// The reference test in double precision: same code, -DTRM_DOUBLE, tolerance 1e-10.
#include "test_reference.c"
