// The one place that knows every adapter: it registers each sink kind in the
// core's table (daemon/destination.hpp). A new kind is a folder under
// adapters/sinks/ and one line here.
#include "adapters/sinks/discord/discord.hpp"
#include "adapters/sinks/mail/kind.hpp"
#include "adapters/sinks/matrix/matrix.hpp"
#include "adapters/sinks/mattermost/mattermost.hpp"
#include "adapters/sinks/slack/slack.hpp"
#include "adapters/sinks/teams/teams.hpp"
#include "adapters/sinks/webhook/webhook.hpp"
#include "daemon/destination.hpp"

namespace herald {

void register_adapters() {
  register_destination_kind(mail::mail_destination_kind());
  register_destination_kind(webhook_destination_kind());
  register_destination_kind(slack_destination_kind());
  register_destination_kind(mattermost_destination_kind());
  register_destination_kind(discord_destination_kind());
  register_destination_kind(matrix_destination_kind());
  register_destination_kind(teams_destination_kind());
}

}  // namespace herald
