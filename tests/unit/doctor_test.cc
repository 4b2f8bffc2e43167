// The pure parts of `ppa-import doctor`: what an observation (a resolver
// code, a connect errno, a transport error, an HTTP answer) means as a check
// result, and the shared credential resolution.
#include "importer/commands/doctor.h"

#include <gtest/gtest.h>
#include <netdb.h>

#include <cerrno>
#include <map>
#include <sstream>

#include "importer/cli/credentials.h"

namespace ppa {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

HttpResponse Answer(long status, HttpHeaders headers = {}, std::string body = {}) {
  HttpResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

// `result` has `outcome`, and its detail and fix contain the given words.
void ExpectResult(const CheckResult& result, CheckOutcome outcome, const std::string& in_detail,
                  const std::string& in_fix, const std::string& label) {
  EXPECT_EQ(result.outcome, outcome) << label << ": " << result.detail;
  EXPECT_NE(result.detail.find(in_detail), std::string::npos)
      << label << ": detail '" << result.detail << "' lacks '" << in_detail << "'";
  EXPECT_NE(result.fix.find(in_fix), std::string::npos)
      << label << ": fix '" << result.fix << "' lacks '" << in_fix << "'";
}

TEST(DoctorFormatTest, PassFailSkipLines) {
  EXPECT_EQ(FormatCheck("tcp connect", Pass("connected to h:1")),
            "PASS  tcp connect: connected to h:1\n");
  EXPECT_EQ(FormatCheck("tls", Fail("bad CA", "use --ca-file")),
            "FAIL  tls: bad CA\n      fix: use --ca-file\n");
  EXPECT_EQ(FormatCheck("clock", Skip("no Date")), "SKIP  clock: no Date\n");
}

TEST(DoctorSplitHostPortTest, Table) {
  struct Case {
    const char* authority;
    bool plain_http;
    bool ok;
    const char* host;
    int port;
  } cases[] = {
      {"reg.example", false, true, "reg.example", 443},
      {"reg.example", true, true, "reg.example", 80},
      {"reg.example:5000", false, true, "reg.example", 5000},
      {"[::1]:5000", true, true, "::1", 5000},
      {"[::1]", false, true, "::1", 443},
      {"reg:0", false, false},
      {"reg:70000", false, false},
      {"reg:5x", false, false},
      {":5000", false, false},
      {"[::1", false, false},
  };
  for (const Case& c : cases) {
    Result<HostPort> got = SplitHostPort(c.authority, c.plain_http);
    ASSERT_EQ(got.ok(), c.ok) << c.authority;
    if (!c.ok) continue;
    EXPECT_EQ(got->host, c.host) << c.authority;
    EXPECT_EQ(got->port, c.port) << c.authority;
  }
  EXPECT_EQ((HostPort{"::1", 5000}).ToString(), "[::1]:5000");
}

TEST(DoctorResolveTest, Table) {
  ExpectResult(ClassifyResolve(0, "reg", "10.0.0.1"), CheckOutcome::kPass, "10.0.0.1", "", "ok");
  ExpectResult(ClassifyResolve(EAI_NONAME, "reg.invalid", ""), CheckOutcome::kFail,
               "cannot resolve 'reg.invalid'", "DNS", "noname");
  ExpectResult(ClassifyResolve(EAI_AGAIN, "reg", ""), CheckOutcome::kFail, "cannot resolve",
               "DNS server did not answer", "again");
}

TEST(DoctorConnectTest, Table) {
  HostPort target{"reg.example", 5000};
  struct Case {
    int error;
    CheckOutcome outcome;
    const char* detail;
    const char* fix;
  } cases[] = {
      {0, CheckOutcome::kPass, "connected to reg.example:5000", ""},
      {ECONNREFUSED, CheckOutcome::kFail, "refused", "check the port"},
      {ETIMEDOUT, CheckOutcome::kFail, "within 7 s", "open TCP port 5000 to reg.example"},
      {EHOSTUNREACH, CheckOutcome::kFail, "no route to reg.example:5000", "routes"},
      {EACCES, CheckOutcome::kFail, "failed", "firewall"},
  };
  for (const Case& c : cases) {
    ExpectResult(ClassifyConnect(c.error, target, 7), c.outcome, c.detail, c.fix,
                 std::to_string(c.error));
  }
}

TEST(DoctorTlsTest, Table) {
  HostPort target{"reg.example", 443};
  struct Case {
    const char* message;  // the transport's error ("" = an answer came)
    CheckOutcome outcome;
    const char* detail;
    const char* fix;
  } cases[] = {
      {"", CheckOutcome::kPass, "certificate verified", ""},
      {"GET reg.example:443: error:0A00010B:SSL routines::wrong version number",
       CheckOutcome::kFail, "answers plain HTTP", "--plain-http"},
      {"GET reg.example:443: SSL certificate problem: unable to get local issuer certificate",
       CheckOutcome::kFail, "does not trust", "--ca-file"},
      {"GET reg.example:443: SSL certificate problem: self-signed certificate", CheckOutcome::kFail,
       "does not trust", "--ca-file"},
      {"GET reg.example:443: SSL certificate problem: self-signed certificate", CheckOutcome::kFail,
       "does not trust", "/etc/containers/certs.d/reg.example:443/ca.crt"},
      {"GET reg.example:443: SSL certificate problem: unable to get local issuer certificate",
       CheckOutcome::kFail, "does not trust", "--cert-dir"},
      {"GET reg.example:443: SSL certificate problem: certificate has expired", CheckOutcome::kFail,
       "has expired", "renew"},
      {"GET reg.example:443: SSL: no alternative certificate subject name matches target host "
       "name 'reg.example'",
       CheckOutcome::kFail, "not issued for 'reg.example'", "subject alternative names"},
      {"GET reg.example:443: SSL certificate problem: certificate is not yet valid",
       CheckOutcome::kFail, "not yet valid", "clock"},
      {"GET reg.example:443: OpenSSL SSL_connect: Connection reset by peer", CheckOutcome::kFail,
       "TLS with reg.example:443 failed", "--ca-file"},
  };
  for (const Case& c : cases) {
    Result<HttpResponse> answer =
        *c.message ? Result<HttpResponse>(NetworkError(c.message)) : Answer(200);
    ExpectResult(ClassifyTls(answer, target, false), c.outcome, c.detail, c.fix, c.message);
  }
  ExpectResult(ClassifyTls(Answer(401), target, true), CheckOutcome::kPass, "NOT verified", "",
               "insecure");
}

TEST(DoctorRegistryAnswerTest, Table) {
  const HttpHeaders api = {{"docker-distribution-api-version", "registry/2.0"}};
  const HttpHeaders challenge = {{"www-authenticate", "Basic realm=\"r\""}};
  struct Case {
    Result<HttpResponse> answer;
    CheckOutcome outcome;
    const char* detail;
    const char* fix;
  } cases[] = {
      {Answer(200, api), CheckOutcome::kPass, "answers as a registry (HTTP 200", ""},
      {Answer(401, challenge), CheckOutcome::kPass, "login required", ""},
      {Answer(401, api), CheckOutcome::kPass, "registry/2.0", ""},
      {Answer(200, {{"content-type", "text/html"}}, "<html>hi</html>"), CheckOutcome::kFail,
       "HTML page", "--registry"},
      {Answer(404), CheckOutcome::kFail, "not a registry", "/v2/"},
      {Answer(401), CheckOutcome::kFail, "not a registry", "--registry"},
      {Answer(400, {}, "Client sent an HTTP request to an HTTPS server."), CheckOutcome::kFail,
       "speaks HTTPS", "drop --plain-http"},
      {Answer(503), CheckOutcome::kFail, "failing", "retry"},
      {Result<HttpResponse>(NetworkError("GET h:1: refused", "cannot reach h:1")),
       CheckOutcome::kFail, "refused", "cannot reach"},
  };
  for (const Case& c : cases) {
    ExpectResult(ClassifyRegistryAnswer(c.answer, "http://h:1/v2/"), c.outcome, c.detail, c.fix,
                 c.detail);
  }
}

TEST(DoctorCredentialsTest, Table) {
  const HttpResponse basic = Answer(401, {{"www-authenticate", "Basic realm=\"r\""}});
  const HttpResponse bearer =
      Answer(401, {{"www-authenticate", "Bearer realm=\"https://auth/token\",service=\"reg\""}});
  const ResolvedCredentials none;
  const ResolvedCredentials bob{Credentials("bob", "s3cret"),
                                "user 'bob' from --username, password from PPA_IMPORT_PASSWORD"};
  const Status refused = HttpError("registry check of h failed: 401 UNAUTHORIZED");
  struct Case {
    const char* label;
    HttpResponse anonymous;
    ResolvedCredentials credentials;
    Status ping;
    CheckOutcome outcome;
    const char* detail;
    const char* fix;
  } cases[] = {
      {"open, none", Answer(200), none, Status::Ok(), CheckOutcome::kPass, "no credentials found",
       ""},
      {"open, some", Answer(200), bob, Status::Ok(), CheckOutcome::kPass, "found user 'bob'", ""},
      {"login needed, none", basic, none, Status::Ok(), CheckOutcome::kFail,
       "no credentials were found", "PPA_IMPORT_USERNAME"},
      {"basic accepted", basic, bob, Status::Ok(), CheckOutcome::kPass, "accepted (basic auth)",
       ""},
      {"token accepted", bearer, bob, Status::Ok(), CheckOutcome::kPass, "accepted (token auth)",
       ""},
      {"refused", basic, bob, refused, CheckOutcome::kFail, "401 UNAUTHORIZED", "log in again"},
      {"refused names the source", basic, bob, refused, CheckOutcome::kFail,
       "the credentials from user 'bob' from --username, password from PPA_IMPORT_PASSWORD were "
       "refused",
       "--creds USER"},
      {"token server down", bearer, bob, NetworkError("token request failed", "check proxy"),
       CheckOutcome::kFail, "token request failed", "check proxy"},
  };
  for (const Case& c : cases) {
    CheckResult r = ClassifyCredentials(c.anonymous, c.credentials, c.ping, "h:5000");
    ExpectResult(r, c.outcome, c.detail, c.fix, c.label);
    EXPECT_EQ(r.detail.find("s3cret"), std::string::npos) << c.label;
    EXPECT_EQ(r.fix.find("s3cret"), std::string::npos) << c.label;
  }
}

TEST(DoctorClockTest, Table) {
  // Wed, 21 Oct 2015 07:28:00 GMT
  const system_clock::time_point date = system_clock::from_time_t(1445412480);
  const char* header = "Wed, 21 Oct 2015 07:28:00 GMT";
  struct Case {
    const char* header;
    seconds local_offset;
    CheckOutcome outcome;
    const char* detail;
  } cases[] = {
      {header, seconds(0), CheckOutcome::kPass, "within 1 s"},
      {header, seconds(59), CheckOutcome::kPass, "within 59 s"},
      {header, seconds(-60), CheckOutcome::kPass, "within 60 s"},
      {header, seconds(61), CheckOutcome::kFail, "61 s ahead of"},
      {header, seconds(-600), CheckOutcome::kFail, "10 min behind"},
      {"", seconds(0), CheckOutcome::kSkip, "no Date header"},
      {"yesterday", seconds(0), CheckOutcome::kSkip, "unreadable"},
  };
  for (const Case& c : cases) {
    CheckResult r = ClassifyClockSkew(c.header, date + c.local_offset);
    ExpectResult(r, c.outcome, c.detail, c.outcome == CheckOutcome::kFail ? "NTP" : "",
                 std::to_string(c.local_offset.count()));
  }
}

TEST(DoctorNamespaceTest, Table) {
  ExpectResult(ClassifyNamespace("", "ibm"), CheckOutcome::kSkip, "no --namespace", "", "empty");
  ExpectResult(ClassifyNamespace("test_ns", "ibm"), CheckOutcome::kPass, "'test_ns'", "", "ok");
  ExpectResult(ClassifyNamespace("AB", "ibm"), CheckOutcome::kFail, "breaks the namespace rules",
               "4 to 30 characters", "AB");
  ExpectResult(ClassifyNamespace("ab", "none"), CheckOutcome::kPass, "'none'", "", "none");
}

TEST(DoctorPushProbeTest, Table) {
  const std::string json = "application/json";
  struct Case {
    Result<HttpResponse> answer;
    CheckOutcome outcome;
    const char* detail;
    const char* fix;
  } cases[] = {
      {Answer(202, {{"location", "/v2/ns/x/blobs/uploads/1"}}), CheckOutcome::kPass,
       "may push to 'ns/ppa-import-doctor'", ""},
      {Answer(
           403, {{"content-type", json}},
           R"({"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]})"),
       CheckOutcome::kFail, "requested access to the resource is denied",
       "namespace may not exist"},
      {Answer(401), CheckOutcome::kFail, "401", "no write access"},
      {Answer(404), CheckOutcome::kFail, "404", "path prefix"},
      {Result<HttpResponse>(HttpError("token request to https://auth failed: 401 UNAUTHORIZED")),
       CheckOutcome::kFail, "token request", "no write access"},
      {Result<HttpResponse>(NetworkError("POST h: reset", "retry later")), CheckOutcome::kFail,
       "reset", "retry later"},
  };
  for (const Case& c : cases) {
    ExpectResult(ClassifyPushProbe(c.answer, "ns/ppa-import-doctor"), c.outcome, c.detail, c.fix,
                 c.detail);
  }
}

TEST(DoctorChartMuseumTest, Table) {
  struct Case {
    Result<HttpResponse> answer;
    bool has_auth;
    CheckOutcome outcome;
    const char* detail;
    const char* fix;
  } cases[] = {
      {Answer(200), true, CheckOutcome::kPass, "with the configured credentials", ""},
      {Answer(200), false, CheckOutcome::kPass, "without credentials", ""},
      {Answer(401), true, CheckOutcome::kFail, "refused the configured credentials",
       "PPA_IMPORT_CHARTMUSEUM_PASSWORD"},
      {Answer(401), false, CheckOutcome::kFail, "refused anonymous access", "--chartmuseum-user"},
      {Answer(404), false, CheckOutcome::kFail, "no index.yaml", "--chartmuseum-uri"},
      {Answer(500), false, CheckOutcome::kFail, "HTTP 500", "health"},
      {Result<HttpResponse>(NetworkError("GET h:1: refused")), false, CheckOutcome::kFail,
       "refused", "--chartmuseum-uri"},
  };
  for (const Case& c : cases) {
    ExpectResult(ClassifyChartMuseum(c.answer, "http://h:1", c.has_auth), c.outcome, c.detail,
                 c.fix, c.detail);
  }
}

// The resolution `load` and `doctor` share.
TEST(ResolveRegistryCredentialsTest, Table) {
  struct Case {
    const char* label;
    Credentials given;
    bool password_stdin;
    const char* stdin_text;
    std::map<std::string, std::string> env;
    bool ok;
    const char* user;
    const char* password;
    const char* source;  // substring
  } cases[] = {
      {"nothing", {}, false, "", {}, true, "", "", ""},
      {"flags",
       Credentials("bob", ""),
       true,
       "pw\n",
       {},
       true,
       "bob",
       "pw",
       "--username (user 'bob', password from --password-stdin)"},
      {"env",
       {},
       false,
       "",
       {{"PPA_IMPORT_USERNAME", "al"}, {"PPA_IMPORT_PASSWORD", "pw"}},
       true,
       "al",
       "pw",
       "PPA_IMPORT_USERNAME (user 'al', password from PPA_IMPORT_PASSWORD)"},
      {"flag user, env password",
       Credentials("bob", ""),
       false,
       "",
       {{"PPA_IMPORT_USERNAME", "al"}, {"PPA_IMPORT_PASSWORD", "pw"}},
       true,
       "bob",
       "pw",
       "--username (user 'bob', password from PPA_IMPORT_PASSWORD)"},
      // IBMCLOUD_API_KEY needs the registry host (IBM Cloud hosts only):
      // ResolveCredentials applies it, not this flag-only step.
      {"api key waits for the host", {}, false, "", {{"IBMCLOUD_API_KEY", "key"}}, true, "", "",
       ""},
      {"user waits for the host", Credentials("bob", ""), false, "", {}, true, "bob", "",
       "no password yet"},
      {"api key loses to env",
       {},
       false,
       "",
       {{"IBMCLOUD_API_KEY", "key"}, {"PPA_IMPORT_USERNAME", "al"}, {"PPA_IMPORT_PASSWORD", "pw"}},
       true,
       "al",
       "pw",
       "PPA_IMPORT_USERNAME"},
      {"empty stdin", Credentials("bob", ""), true, "", {}, false},
      {"password without user", {}, false, "", {{"PPA_IMPORT_PASSWORD", "pw"}}, false},
  };
  for (const Case& c : cases) {
    std::istringstream in(c.stdin_text);
    auto getenv = [&c](const char* name) {
      auto it = c.env.find(name);
      return it == c.env.end() ? std::string() : it->second;
    };
    Result<ResolvedCredentials> got =
        ResolveRegistryCredentials(c.given, c.password_stdin, in, getenv);
    ASSERT_EQ(got.ok(), c.ok) << c.label;
    if (!c.ok) continue;
    EXPECT_EQ(got->credentials.username, c.user) << c.label;
    EXPECT_EQ(got->credentials.password, c.password) << c.label;
    EXPECT_NE(got->source.find(c.source), std::string::npos) << c.label << ": " << got->source;
    EXPECT_EQ(got->source.find("pw"), std::string::npos) << c.label;
  }
}

// doctor --creds USER with the password from stdin or PPA_IMPORT_PASSWORD
// said "a password was given without a user name", and PPA_IMPORT_USERNAME
// won over --creds: doctor must resolve as load does.
TEST(ResolveRegistryCredentialsTest, CredsGivesTheUserAsInLoad) {
  std::map<std::string, std::string> env = {{"PPA_IMPORT_PASSWORD", "pw"}};
  auto getenv = [&env](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  std::istringstream none("");
  auto got = ResolveRegistryCredentials({}, false, none, getenv, "bob");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->credentials.username, "bob");
  EXPECT_EQ(got->credentials.password, "pw");
  std::istringstream piped("secret\n");
  got = ResolveRegistryCredentials({}, true, piped, getenv, "bob");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->credentials.password, "secret");
  env["PPA_IMPORT_USERNAME"] = "al";
  std::istringstream again("");
  got = ResolveRegistryCredentials({}, false, again, getenv, "bob:pw2");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->credentials.username, "bob");
  EXPECT_EQ(got->credentials.password, "pw2");
}

}  // namespace
}  // namespace ppa
