/* abi.h - the one ABI version number and the export macro shared by the engine and every plugin. */
#ifndef ENAS_ABI_H
#define ENAS_ABI_H

/* Bump for any incompatible change anywhere under include/enas/, and rename the version node in
 * plugins/plugin.map (ENAS_ABI_<n>) with it. Adding a member at the end of a descriptor or of the
 * host API table is compatible: struct_size tells the reader which members exist. Each member added so is
 * marked with the version that added it, as SQLite marks its extension table: `ABI 1.1` is the first
 * addition to ABI 1, `ABI 1.2` the next (1.1: api->release and enas_op_desc.bwd_flags; 1.2:
 * enas_space_desc.sample_order; 1.3: api->grad_accumulates and the flags that use it; 1.4: api->train_step).
 * A plugin that uses a marked member checks that the engine has it (ENAS_API_HAS, struct_size); an engine
 * reading a marked member of an older plugin's descriptor reads it as 0 / NULL. */
#define ENAS_ABI_VERSION 1

#if defined(__GNUC__) || defined(__clang__)
#define ENAS_EXPORT            __attribute__((visibility("default")))
#define ENAS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define ENAS_EXPORT
#define ENAS_PRINTF(fmt, args)
#endif

/* Every descriptor starts with these two members, in this order. */
#define ENAS_DESC_HEADER                                                                                     \
    unsigned abi_version; /* = ENAS_ABI_VERSION */                                                           \
    size_t struct_size    /* = sizeof(the descriptor struct); new members go at the end only */

#endif
