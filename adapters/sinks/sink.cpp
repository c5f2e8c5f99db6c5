#include "adapters/sinks/sink.hpp"

namespace herald {

const char* to_string(DeliveryResult::Status s) {
  switch (s) {
    case DeliveryResult::Status::delivered:
      return "delivered";
    case DeliveryResult::Status::retry:
      return "retry";
    case DeliveryResult::Status::permanent:
      return "permanent";
    case DeliveryResult::Status::disable:
      return "disable";
  }
  return "unknown";
}

}  // namespace herald
