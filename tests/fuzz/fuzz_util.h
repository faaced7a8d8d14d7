/* fuzz_util.h - what the libFuzzer harnesses share: a private temporary folder for the files the readers
 * under test open by path, removed at exit, and an abort that names the broken property. */
#ifndef ENAS_FUZZ_UTIL_H
#define ENAS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The harness's temporary folder (made on first use, removed at exit). */
const char *fz_dir(void);
/* fz_dir()/name; the returned buffer is reused by the next call. */
const char *fz_path(const char *name);
/* Writes n bytes to path (truncating); aborts when it cannot: that is the harness's fault, not the input's.
 */
void fz_write(const char *path, const void *data, size_t n);
struct enas_host;
struct enas_config;
/* A host with the build's plugins loaded (ENAS_FUZZ_PLUGIN_DIR, or the variable of that name), made once. */
struct enas_host *fz_host(void);
/* A config with every section of the engine and of those plugins declared (fz_host), as the program has. */
struct enas_config *fz_config(void);

/* A property of the reader did not hold: print it and abort, which libFuzzer reports as a crash. */
void fz_fail(const char *what, const char *detail);

#endif
