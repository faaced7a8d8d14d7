/* crash_guard.h - naming the plugin whose code killed the process. Plugin code runs in the engine's
 * process, so a plugin that crashes while it initialises would otherwise take enas down with nothing on
 * stderr that says which of the files in the plugin directories it was. */
#ifndef ENAS_ENGINE_CRASH_GUARD_H
#define ENAS_ENGINE_CRASH_GUARD_H

/* From begin to end, a fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP) first
 * writes one line to stderr,
 *     enas: plugin 'PATH' crashed in WHAT (signal N, SIGNAME)
 * and then takes its course as if no guard were there: the handler that was installed before (a
 * sanitizer's, which then prints its report) or the default action, so the process still dies by that
 * signal (exit status 128 + N in a shell, a core dump where enabled). The handler runs on an alternate
 * stack, so a plugin that overflows its stack is named too. One guard at a time in the process: begin
 * waits for another thread's end. end leaves alone a handler that the guarded code installed itself. */
void enas__crash_guard_begin(const char *path, const char *what);
void enas__crash_guard_end(void);

#endif
