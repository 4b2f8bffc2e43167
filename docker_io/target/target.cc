#include "docker_io/target/target.h"

#include <mutex>

#include "base/file_util.h"
#include "docker_io/target/oci_layout_sink.h"

namespace ppa {

Result<std::unique_ptr<Target>> Target::Open(TargetConfig config) {
  std::unique_ptr<Target> target(new Target(std::move(config)));
  PPA_RETURN_IF_ERROR(target->is_registry() ? target->Connect() : target->OpenLayout());
  return target;
}

std::shared_ptr<HttpTransport> Target::transport() const {
  std::call_once(transport_once_, [this] {
    transport_ = config_.make_transport
                     ? config_.make_transport(config_.transport)
                     : std::shared_ptr<HttpTransport>(MakeCurlTransport(config_.transport));
  });
  return transport_;
}

Status Target::Connect() {
  client_ = std::make_shared<RegistryClient>(config_.endpoint, config_.credentials, transport());
  Status ping = client_->Ping();
  if (!ping.ok()) return ping.WithContext("registry '" + config_.endpoint.host + "'");
  sink_ = MakeRegistrySink(client_);
  if (config_.dry_run) dry_run_sink_ = MakeDryRunSink(sink_.get(), "");
  return Status::Ok();
}

Status Target::OpenLayout() {
  config_.layout_dir = AbsolutePath(config_.layout_dir);
  if (config_.dry_run) {
    dry_run_sink_ = MakeDryRunSink(nullptr, "oci:" + config_.layout_dir + ":");
    return Status::Ok();
  }
  PPA_ASSIGN_OR_RETURN(sink_, MakeOciLayoutSink(config_.layout_dir));
  return Status::Ok();
}

std::string Target::Describe() const {
  if (!is_registry()) return sink().Locate("");
  return config_.endpoint.host + (config_.prefix.empty() ? "" : "/" + config_.prefix);
}

}  // namespace ppa
