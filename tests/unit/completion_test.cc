// The completion scripts (importer/cli/completion.h): what an option's value is,
// the spec read from a CLI11 App, and the bash and zsh text made from it.
#include "importer/cli/completion.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ppa {
namespace {

TEST(CompletionValueFromTypeName, ReadsPathsAndChoicesFromCli11TypeNames) {
  struct Case {
    const char* type_name;
    CompletionValue kind;
    std::vector<std::string> choices;
  };
  const Case cases[] = {
      {"TEXT:FILE", CompletionValue::kFile, {}},            // CLI::ExistingFile
      {"TEXT:PATH(existing)", CompletionValue::kFile, {}},  // CLI::ExistingPath
      {"TEXT:DIR", CompletionValue::kDirectory, {}},        // CLI::ExistingDirectory
      {"FILE", CompletionValue::kFile, {}},
      {"DIR", CompletionValue::kDirectory, {}},
      {"FILE|-", CompletionValue::kFile, {}},  // a path or '-' (stdout)
      {"docker|oci", CompletionValue::kChoice, {"docker", "oci"}},
      {"gzip|zstd|none", CompletionValue::kChoice, {"gzip", "zstd", "none"}},
      {"TEXT:{ibm,none}", CompletionValue::kChoice, {"ibm", "none"}},  // CLI::IsMember
      {"TEXT", CompletionValue::kText, {}},
      {"INT:INT in [1 - 64]", CompletionValue::kText, {}},
      {"PLATFORM", CompletionValue::kText, {}},
      {"N|M", CompletionValue::kText, {}},           // placeholders, not words
      {"TEXT:{a b,c}", CompletionValue::kText, {}},  // not plain words
      {"", CompletionValue::kText, {}},
  };
  for (const Case& c : cases) {
    ValueCompletion value = ValueFromTypeName(c.type_name);
    EXPECT_EQ(value.kind, c.kind) << c.type_name;
    EXPECT_EQ(value.choices, c.choices) << c.type_name;
  }
}

// A small program shaped like ppa-import: a global --config, two commands.
struct SmallApp {
  CLI::App app{"tool"};
  std::string config, archive_dir, format, ns, json, topic, hidden;
  std::vector<std::string> archives;
  bool dry_run = false, quiet = false;

  SmallApp() {
    app.name("tool");
    app.fallthrough();
    app.set_version_flag("--version", "1");
    app.add_option("--config", config, "YAML file");
    CLI::App* load = app.add_subcommand("load", "Import archives\nsecond line");
    load->add_option("ARCHIVE", archives, "archives")->check(CLI::ExistingPath);
    load->add_option("--cert-dir", archive_dir, "certs")->check(CLI::ExistingDirectory);
    load->add_option("--format", format, "media types")
        ->type_name("docker|oci")
        ->check(CLI::IsMember({"docker", "oci"}).description(""));
    load->add_option("--namespace", ns, "target namespace");
    load->add_option("--json", json, "report");
    load->add_option("--archive", archives, "one archive (repeatable)")->check(CLI::ExistingPath);
    load->add_flag("--dry-run", dry_run, "write nothing");
    load->add_flag("-q,--quiet", quiet, "less output");
    load->add_option("--secret", hidden, "hidden")->group("");
    app.add_subcommand("help", "Show help")->add_option("COMMAND", topic, "a command");
  }
};

const CompletionOption* FindOption(const std::vector<CompletionOption>& options,
                                   const std::string& name) {
  for (const CompletionOption& opt : options) {
    if (std::find(opt.names.begin(), opt.names.end(), name) != opt.names.end()) return &opt;
  }
  return nullptr;
}

TEST(DescribeForCompletion, ReadsCommandsOptionsAndPositionalsFromTheApp) {
  SmallApp small;
  CompletionSpec spec = DescribeForCompletion(
      small.app, {{"--json", CompletionValue::kFile}, {"--format", CompletionValue::kDirectory}});
  EXPECT_EQ(spec.program, "tool");
  ASSERT_EQ(spec.commands.size(), 2u);
  const CompletionCommand& load = spec.commands[0];
  EXPECT_EQ(load.name, "load");
  EXPECT_EQ(load.description, "Import archives");  // one line
  EXPECT_EQ(load.positional_name, "ARCHIVE");
  EXPECT_EQ(load.positional.kind, CompletionValue::kFile);
  EXPECT_TRUE(load.positional_repeats);

  ASSERT_NE(FindOption(load.options, "--cert-dir"), nullptr);
  EXPECT_EQ(FindOption(load.options, "--cert-dir")->value.kind, CompletionValue::kDirectory);
  const CompletionOption* format = FindOption(load.options, "--format");
  ASSERT_NE(format, nullptr);
  EXPECT_EQ(format->value.kind, CompletionValue::kChoice);  // the hint does not override it
  EXPECT_EQ(format->value.choices, (std::vector<std::string>{"docker", "oci"}));
  EXPECT_EQ(FindOption(load.options, "--namespace")->value.kind, CompletionValue::kText);
  EXPECT_EQ(FindOption(load.options, "--json")->value.kind, CompletionValue::kFile);  // hint
  EXPECT_EQ(FindOption(load.options, "--dry-run")->value.kind, CompletionValue::kNone);
  const CompletionOption* quiet = FindOption(load.options, "-q");
  ASSERT_NE(quiet, nullptr);
  EXPECT_EQ(quiet->names, (std::vector<std::string>{"-q", "--quiet"}));
  EXPECT_TRUE(FindOption(load.options, "--archive")->repeatable);
  EXPECT_FALSE(FindOption(load.options, "--namespace")->repeatable);
  EXPECT_EQ(FindOption(load.options, "--secret"), nullptr);  // hidden
  EXPECT_NE(FindOption(load.options, "--help"), nullptr);

  // The program's --config may follow a command (fallthrough); --version not.
  ASSERT_NE(FindOption(load.options, "--config"), nullptr);
  EXPECT_EQ(FindOption(load.options, "--version"), nullptr);
  EXPECT_NE(FindOption(spec.options, "--version"), nullptr);
  EXPECT_NE(FindOption(spec.options, "--config"), nullptr);

  // help COMMAND completes the command names.
  const CompletionCommand& help = spec.commands[1];
  EXPECT_EQ(help.positional_name, "COMMAND");
  EXPECT_EQ(help.positional.kind, CompletionValue::kChoice);
  EXPECT_EQ(help.positional.choices, (std::vector<std::string>{"load", "help"}));
  EXPECT_FALSE(help.positional_repeats);
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(BashCompletionScript, NamesEveryCommandOptionAndValueKind) {
  SmallApp small;
  const std::string script = BashCompletionScript(DescribeForCompletion(
      small.app, {{"--json", CompletionValue::kFile}, {"--config", CompletionValue::kFile}}));
  EXPECT_TRUE(Contains(script, "complete -F _tool tool\n"));
  EXPECT_TRUE(Contains(script, "compgen -W 'load help' -- \"$cur\""));
  EXPECT_TRUE(Contains(script, "    'load --format') REPLY='words:docker oci' ;;\n"));
  EXPECT_TRUE(Contains(script, "    'load --cert-dir') REPLY='dir' ;;\n"));
  EXPECT_TRUE(Contains(script, "    'load --json') REPLY='file' ;;\n"));
  EXPECT_TRUE(Contains(script, "    'load --namespace') REPLY='text' ;;\n"));
  EXPECT_TRUE(Contains(script, "    ' --config') REPLY='file' ;;\n"));
  EXPECT_TRUE(Contains(script, "    'load --config') REPLY='file' ;;\n"));
  EXPECT_FALSE(Contains(script, "'load --dry-run')"));  // a flag takes no value
  EXPECT_FALSE(Contains(script, "--secret"));
  EXPECT_TRUE(Contains(script, "    'load') REPLY='file' ;;\n"));  // ARCHIVE..., any number
  EXPECT_TRUE(Contains(script, "    'help') (($2 < 1)) && REPLY='words:load help' ;;\n"));
  EXPECT_TRUE(Contains(script,
                       "    'load') REPLY='-h --help --cert-dir --format --namespace "
                       "--json --archive --dry-run -q --quiet --config' ;;\n"));
}

TEST(ZshCompletionScript, SpecsForEveryOptionWithEscapedDescriptions) {
  CompletionSpec spec{
      .program = "tool",
      .options = {{.names = {"--version"}, .description = "Print it", .value = {}}},
      .commands = {
          {.name = "load",
           .description = "Import: it's fast",
           .options = {{.names = {"-q", "--quiet"}, .description = "less", .value = {}},
                       {.names = {"--registry"},
                        .description = "HOST[:PORT] it's",
                        .value = {.kind = CompletionValue::kText, .choices = {}}},
                       {.names = {"--cert-dir"},
                        .description = "certs",
                        .value = {.kind = CompletionValue::kDirectory, .choices = {}}},
                       {.names = {"--archive"},
                        .description = "one",
                        .value = {.kind = CompletionValue::kFile, .choices = {}},
                        .repeatable = true},
                       {.names = {"--format"},
                        .description = "types",
                        .value = {.kind = CompletionValue::kChoice, .choices = {"docker", "oci"}}}},
           .positional_name = "ARCHIVE",
           .positional = {.kind = CompletionValue::kFile, .choices = {}},
           .positional_repeats = true}}};
  const std::string script = ZshCompletionScript(spec);
  EXPECT_EQ(script.rfind("#compdef tool\n", 0), 0u);
  EXPECT_TRUE(Contains(script, "'(- : *)--version[Print it]'"));
  EXPECT_TRUE(Contains(script, "'load:Import: it'\\''s fast'"));
  EXPECT_TRUE(Contains(script, "'(-q --quiet)-q[less]'"));
  EXPECT_TRUE(Contains(script, "'(-q --quiet)--quiet[less]'"));
  EXPECT_TRUE(Contains(script, "'--registry=[HOST\\[\\:PORT\\] it'\\''s]:registry: '"));
  EXPECT_TRUE(Contains(script, "'--cert-dir=[certs]:cert-dir:_files -/'"));
  EXPECT_TRUE(Contains(script, "'*--archive=[one]:archive:_files'"));
  EXPECT_TRUE(Contains(script, "'--format=[types]:format:(docker oci)'"));
  EXPECT_TRUE(Contains(script, "'*:archive:_files'"));
  EXPECT_TRUE(Contains(script, "compdef _tool tool"));
}

TEST(CompletionScript, KnowsBashAndZshOnly) {
  SmallApp small;
  CompletionSpec spec = DescribeForCompletion(small.app, {});
  ASSERT_TRUE(CompletionScript(spec, "bash").ok());
  EXPECT_EQ(*CompletionScript(spec, "bash"), BashCompletionScript(spec));
  EXPECT_EQ(*CompletionScript(spec, "zsh"), ZshCompletionScript(spec));
  Result<std::string> fish = CompletionScript(spec, "fish");
  ASSERT_FALSE(fish.ok());
  EXPECT_EQ(fish.status().code(), StatusCode::kInvalidInput);
}

}  // namespace
}  // namespace ppa
