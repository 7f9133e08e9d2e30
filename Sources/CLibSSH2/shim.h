#ifndef OPENCLAW_CLIBSSH2_SHIM_H
#define OPENCLAW_CLIBSSH2_SHIM_H
#include <libssh2.h>
#endif
