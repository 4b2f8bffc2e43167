// Ctrl-C and SIGTERM (README, "Interrupted runs and leftovers").
//
// InstallInterruptHandlers sets handlers for SIGINT and SIGTERM that only
// set an atomic flag and write the signal number to a self-pipe (both
// async-signal-safe). A watcher thread, started by the install, reads the
// pipe and does the rest outside signal context: it prints what was done
// (the images recorded as pushed so far, that the others were not tagged)
// and where the work directories of the run are, then ends the process at
// once with 128 + the signal (130 for SIGINT, 143 for SIGTERM). Uploads
// stop there and then: manifests are pushed only after all their blobs, so
// no tag points at a half-pushed image; the work directory is left for the
// next run, which removes it (LockWorkdir, importer/load/workspace.h). A second
// signal while the first is handled ends the process without a word.
//
// Thread-safety: every function may be called from any thread; the handlers
// touch only an atomic and a pipe.
#pragma once

#include <string>
#include <vector>

struct termios;

namespace ppa {

// Installs the handlers and starts the watcher thread; idempotent.
void InstallInterruptHandlers();

// True once SIGINT or SIGTERM arrived (workers may stop taking work).
bool InterruptRequested();

// 128 + the signal that arrived (0 when none did).
int InterruptExitCode();

// The work directories of the run, for the message (PrepareWorkspace adds,
// RemoveWorkspace takes away).
void RegisterWorkDirectory(const std::string& path);
void UnregisterWorkDirectory(const std::string& path);

// Counts an image or manifest list the target recorded (Reporter::Record),
// named in the message.
void NoteImagePushed(const std::string& name);

// While a secret is read from the terminal `fd` with echo off (credentials'
// prompt): the settings an interrupt puts back before the process ends, so
// Ctrl-C at the prompt leaves no terminal without echo. `saved` null: none.
void RestoreTerminalOnInterrupt(int fd, const termios* saved);

// While `save` writes its archive to `writing`: an interrupt keeps what was
// written as `partial` (FILE.partial), the longer of it and an earlier
// `partial` when they differ, for the next run to go on from, and says so.
// "": none.
void KeepPartialOnInterrupt(const std::string& writing, const std::string& partial);

// The lines an interrupt of `save` prints (pure, for tests).
std::string SaveInterruptMessage(int signal, const std::string& partial);

// The lines printed on an interrupt by `signal` (pure, for tests).
std::string InterruptMessage(int signal, int images_pushed,
                             const std::string& last_pushed,
                             const std::vector<std::string>& work_directories);

}  // namespace ppa
