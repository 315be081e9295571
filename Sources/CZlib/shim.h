#ifndef ITSM_CZLIB_SHIM_H
#define ITSM_CZLIB_SHIM_H

// zlib, for the evidence pack's zip archive (deflate and CRC-32).
#include <zlib.h>

#endif
