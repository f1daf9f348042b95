/*-------------------------------------------------------------------------
 *
 * fuzz.h
 *		The libFuzzer entry point every harness in test/fuzz defines.
 *
 * Each fuzz_<target>.c is built twice: with clang -fsanitize=fuzzer for
 * "make fuzz", and with replay_main.c, a standalone driver that feeds it
 * every file of test/fuzz/corpus/<target> once, for "make test".
 *
 * test/fuzz/fuzz.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CK_FUZZ_H
#define CK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif							/* CK_FUZZ_H */
