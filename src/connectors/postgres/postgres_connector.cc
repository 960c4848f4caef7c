#include "connectors/postgres/postgres_connector.h"

namespace tether {

Result<std::unique_ptr<Connector>> OpenPostgresConnector(const std::string& connection_name,
                                                     const std::string& url) {
  (void)url;
  return Status::Unsupported("connection '" + connection_name + "': not built yet");
}

}  // namespace tether
