// The one place that knows every adapter: it registers each sink kind in the
// core's destination table (daemon/destination.hpp) and each source kind in
// its source table (daemon/source_kind.hpp), with what the source adapters add
// to the core's work. A new kind is a folder under adapters/sinks/ or
// adapters/sources/ and one line here.
#include "adapters/sinks/discord/discord.hpp"
#include "adapters/sinks/mail/kind.hpp"
#include "adapters/sinks/matrix/matrix.hpp"
#include "adapters/sinks/mattermost/mattermost.hpp"
#include "adapters/sinks/slack/slack.hpp"
#include "adapters/sinks/teams/teams.hpp"
#include "adapters/sinks/webhook/webhook.hpp"
#include "adapters/sources/eol/announce.hpp"
#include "adapters/sources/eol/eol_source.hpp"
#include "adapters/sources/eol/support_page.hpp"
#include "adapters/sources/feed/feed_source.hpp"
#include "adapters/sources/gerrit/gerrit_source.hpp"
#include "adapters/sources/github/github_source.hpp"
#include "adapters/sources/jira/jira_source.hpp"
#include "adapters/sources/lustre/announce.hpp"
#include "adapters/sources/osv/osv_source.hpp"
#include "adapters/sources/webhook/webhook.hpp"
#include "daemon/destination.hpp"
#include "daemon/release_context.hpp"
#include "daemon/source_kind.hpp"

namespace herald {

void register_adapters() {
  register_destination_kind(mail::mail_destination_kind());
  register_destination_kind(webhook_destination_kind());
  register_destination_kind(slack_destination_kind());
  register_destination_kind(mattermost_destination_kind());
  register_destination_kind(discord_destination_kind());
  register_destination_kind(matrix_destination_kind());
  register_destination_kind(teams_destination_kind());

  register_source_kind(feed_source_kind());
  register_source_kind(jira_source_kind());
  register_source_kind(github_source_kind());
  register_source_kind(eol_source_kind());
  register_source_kind(osv_source_kind());
  register_source_kind(gerrit_source_kind());
  for (auto& kind : webhook::webhook_source_kinds()) register_source_kind(std::move(kind));
  register_inbound_routes(webhook::add_api_routes);
  register_inbound_routes(eol::add_support_routes);
  register_release_context(lustre::announcement_context);
  register_stored_release_context(eol::announcement_context);
}

}  // namespace herald
