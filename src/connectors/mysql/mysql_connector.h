// Mysql connector: placeholder until the connector lands.
#pragma once

#include <memory>
#include <string>

#include "connectors/connector.h"

namespace tether {

Result<std::unique_ptr<Connector>> OpenMysqlConnector(const std::string& connection_name,
                                                     const std::string& url);

}  // namespace tether
