#include "importer/cli/save_flags.h"

#include <iostream>

#include "importer/cli/cli.h"
#include "importer/cli/connection_flags.h"
#include "importer/report/display_text.h"

namespace ppa {

void AddSaveCommand(CLI::App& app, SaveFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "save", "Write a PPA archive of images in registries, for load at an air-gapped site");
  SaveOptions& o = f.options;
  cmd->add_option("REFERENCE", o.references,
                  "Images to save: HOST[:PORT]/REPO:TAG or HOST[:PORT]/REPO@sha256:...");
  cmd->add_option("--images-from", o.images_from,
                  "A file of more references, one a line, or a PPA manifest.yaml")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  cmd->add_option("--source-registry", o.source_registry,
                  "The registry of the image names that name none (HOST[:PORT])")
      ->type_name("HOST");
  cmd->add_option("-o,--output", o.output, "The archive to write (.tgz), or - for standard output")
      ->type_name("FILE")
      ->required();
  cmd->add_option("--architectures,--platform", o.architectures,
                  "Keep only these platforms of multi-arch images (as load)")
      ->type_name("PLATFORM")
      ->delimiter(',');
  cmd->add_flag("--dry-run", o.dry_run, "List what would be saved and its size; write nothing");
  cmd->add_flag("-q,--quiet", o.quiet, "Print no list of what is saved and no progress");
  cmd->add_option("--json", o.json, "Write a JSON report to FILE, or - for standard output")
      ->type_name("FILE|-");
  cmd->add_option("--registries.d", o.registries_d,
                  "Where registries.d files name the lookasides signatures are read from")
      ->type_name("DIR");
  cmd->add_flag("--remove-signatures", o.remove_signatures,
                "Leave out the signatures: cosign's (sha256-*.sig, .att tags) and simple ones");
  AddConnectionFlags(cmd, ConnectionFlags{.registry = nullptr,
                                          .namespace_rules = nullptr,
                                          .plain_http = &o.plain_http,
                                          .transport = &o.transport,
                                          .username = &f.username,
                                          .password_stdin = &f.password_stdin,
                                          .credentials = &f.credential_flags});
}

int RunSaveCommand(SaveFlags& f) {
  auto usage_error = [](const Status& error) {
    PrintError(std::cerr, error);
    return kExitUsage;
  };
  // The list file is read once, here: RunSave sees what was resolved.
  Status listed = ReadSaveList(f.options);
  if (!listed.ok()) return usage_error(listed);
  Result<std::vector<std::string>> hosts = SaveSourceHosts(f.options);
  if (!hosts.ok()) return usage_error(hosts.status());
  // A user and password given as such (not per host, as an auth file's
  // are) would go to every registry named: refused when there are several.
  if (hosts->size() > 1) {
    std::string given = !f.credential_flags.creds.empty() ? "--creds"
                        : !f.username.empty()             ? "--username"
                        : f.password_stdin                ? "--password-stdin"
                        : !ProcessEnv("PPA_IMPORT_USERNAME").empty() ? "PPA_IMPORT_USERNAME"
                        : !ProcessEnv("PPA_IMPORT_PASSWORD").empty() ? "PPA_IMPORT_PASSWORD"
                                                                      : "";
    if (!given.empty()) {
      return usage_error(InvalidInput(
          given + " gives one set of credentials, and the images come from " +
              std::to_string(hosts->size()) + " registries: they would be sent to each",
          "save from one registry at a time, or log in to each (podman login, docker login: "
          "the auth file holds credentials per registry)"));
    }
  }
  for (const std::string& host : *hosts) {
    CredentialRequest request{.creds = f.credential_flags.creds,
                              .username = f.username,
                              .password_stdin = f.password_stdin,
                              .authfile = f.credential_flags.authfile};
    SetRegistryOfRequest(host, f.options.plain_http, "", &request);
    Result<ResolvedCredentials> resolved = ResolveCredentials(request, DefaultCredentialIo());
    if (!resolved.ok()) return usage_error(resolved.status());
    f.options.credentials[host] = resolved->credentials;
  }
  return RunSave(f.options, std::cout, std::cerr);
}

}  // namespace ppa
