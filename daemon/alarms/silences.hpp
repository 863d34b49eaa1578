// Silences: operator-made, time-bounded mutes kept in state_dir/silences.json, so a restart or
// a reload never un-silences a node someone is working on. Silenced alarms are still graded and
// shown; they are never paged. The API (daemon/admin_api) creates and expires them.
#pragma once

#include <boost/json/fwd.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/alerting.hpp"
#include "config/config.hpp"
#include "daemon/base/expected.hpp"

namespace tierwatch {

struct Silence {
    std::string id;  // random, 16 hex digits
    TargetMatcher match;
    TimePoint start;
    TimePoint end;
    std::string author;
    std::string comment;
    TimePoint created;

    std::string_view state(TimePoint now) const noexcept {
        return now < start ? "pending" : now < end ? "active" : "expired";
    }
};

// A silence from an API request body:
//   {"matchers": {"nodes": ["mta1"], "roles": "mta", "zones": [], "nlbs": [], "checks": []},
//    "start": "<RFC 3339>" (default: now), "end": "<RFC 3339>" or "duration": "2h",
//    "author": "...", "comment": "..."}
// Names must exist in `config` (a typo would silence nothing while the operator thinks it
// does). Returns the silence (without id and created) or an error naming the field.
Expected<Silence> parse_silence_request(std::string_view body, const Config& config, TimePoint now);

boost::json::object silence_to_json(const Silence& silence, TimePoint now);

class SilenceStore {
public:
    // Each change rewrites the whole file: more than `limit` silences is a script gone wrong.
    explicit SilenceStore(std::filesystem::path file, std::size_t limit = 1000);

    // Reads the file; a missing file is an empty store. A file that cannot be read or parsed
    // is kept aside (renamed *.corrupt) and reported in the returned error; the store is empty.
    Expected<> load(TimePoint now);

    // Each change is written to a temporary file, fsync'd and renamed over the old one. On a
    // write error the store is left as it was and the error is returned.
    Expected<> add(Silence silence, TimePoint now);
    // Ends a silence now (kept, as expired, for a day). false: no silence has that id.
    Expected<bool> expire(std::string_view id, TimePoint now);

    const std::vector<Silence>& silences() const noexcept { return silences_; }
    // The silences as windows for the roll-up (expired ones never match).
    std::vector<MaintenanceWindow> windows() const;
    const std::filesystem::path& file() const noexcept { return file_; }

private:
    Expected<> save(const std::vector<Silence>& silences) const;
    // Expired silences are listed for a day, then forgotten.
    void forget_old(std::vector<Silence>& silences, TimePoint now) const;

    std::filesystem::path file_;
    std::size_t limit_;
    std::vector<Silence> silences_;
};

}  // namespace tierwatch
