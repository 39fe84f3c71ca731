// The snkv C++ API in one include. (C programs use <kvstore.h>.)
#ifndef SNKV_SNKV_H
#define SNKV_SNKV_H

#include "snkv/iterator.h"
#include "snkv/options.h"
#include "snkv/slice.h"
#include "snkv/status.h"
#include "snkv/store.h"
#include "snkv/vector.h"

#endif  // SNKV_SNKV_H
