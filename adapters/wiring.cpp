// The one place that knows every adapter: it registers each sink kind in the
// core's table (daemon/destination.hpp). A new kind is a folder under
// adapters/sinks/ and one line here.
#include "adapters/sinks/mail/kind.hpp"
#include "daemon/destination.hpp"

namespace herald {

void register_adapters() {
  register_destination_kind(mail::mail_destination_kind());
}

}  // namespace herald
