#ifndef ITSM_CSODIUM_SHIM_H
#define ITSM_CSODIUM_SHIM_H

// libsodium, for password hashing (Argon2id through crypto_pwhash_str).
#include <sodium.h>

#endif
