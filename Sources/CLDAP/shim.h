#ifndef ITSM_CLDAP_SHIM_H
#define ITSM_CLDAP_SHIM_H

// OpenLDAP's client library, for signing people in against a directory (LDAP, Active Directory).
#include <ldap.h>

// Macros Swift cannot import (casts and pointers), as constants.
static const int CLDAP_SCOPE_SUBTREE = LDAP_SCOPE_SUBTREE;
static const int CLDAP_SCOPE_BASE = LDAP_SCOPE_BASE;

static inline int cldap_set_referrals_off(LDAP *ld) {
    return ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
}

/// A simple bind: the DN and password, checked by the directory.
static inline int cldap_simple_bind(LDAP *ld, const char *dn, const char *password, size_t length) {
    struct berval credentials;
    credentials.bv_val = (char *)password;
    credentials.bv_len = length;
    return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &credentials, NULL, NULL, NULL);
}

#endif
