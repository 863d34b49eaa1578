// Unit tests for the durable outbox: the record codec byte by byte (torn tails at every offset,
// every flipped bit), queue ordering and coalescing, replay after damage, a full disk, and pages
// surviving SIGKILL of a sending process again and again.
#include "daemon/paging/outbox.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "daemon/paging/dispatcher.hpp"
#include "tests/unit/paging_test_util.hpp"

extern char** environ;

namespace tierwatch {
namespace {

namespace fs = std::filesystem;
namespace codec = outbox_codec;
using test::make_event;

fs::path fresh_dir(const std::string& name) {
    const fs::path dir =
        fs::temp_directory_path() / ("tierwatch-outbox-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// A small tmpfs at a fresh directory, unmounted and removed however the test ends (a failed
// ASSERT returns early). `mounted` is false where mounting is not allowed.
struct SmallTmpfs {
    fs::path dir;
    bool mounted = false;
    SmallTmpfs(const std::string& name, const char* size) : dir(fresh_dir(name)) {
        mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, size) == 0;
    }
    ~SmallTmpfs() {
        if (mounted) ::umount(dir.c_str());
        fs::remove_all(dir);
    }
};

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

fs::path only_segment(const fs::path& dir) {
    std::vector<fs::path> found;
    for (const auto& item : fs::directory_iterator(dir)) found.push_back(item.path());
    EXPECT_EQ(found.size(), 1u);
    return found.empty() ? fs::path() : found.front();
}

OutboxEntry entry(std::uint64_t id, PageAction action, std::string receiver, std::string key) {
    OutboxEntry e;
    e.id = id;
    e.event = make_event(action, std::move(receiver), std::move(key));
    e.bytes = codec::event_record_size(e.event);
    return e;
}

std::vector<std::pair<std::uint64_t, PageAction>> queued(OutboxQueue& queue,
                                                         const std::string& receiver) {
    std::vector<std::pair<std::uint64_t, PageAction>> out;
    for (const OutboxEntry* e : queue.entries()) {
        if (e->event.receiver == receiver) out.emplace_back(e->id, e->event.action);
    }
    return out;
}

// ------------------------------------------------------------------------------------ codec

TEST(OutboxCodec, Crc32cMatchesTheCastagnoliCheckValue) {
    EXPECT_EQ(codec::crc32c("123456789"), 0xe3069283u);
    EXPECT_EQ(codec::crc32c(""), 0u);
    // Incremental use gives the same value as one pass.
    EXPECT_EQ(codec::crc32c("6789", codec::crc32c("12345")), 0xe3069283u);
}

TEST(OutboxCodec, EventRoundTripsEveryField) {
    PageEvent event = make_event(PageAction::escalate, "pagerduty-oncall", "group/mta-pool",
                                 "zone \xc3\xa9 down");
    event.severity = Grade::warning;
    event.tier = 3;
    event.kind = AlarmKind::nlb_down;
    event.labels = {"mta1", "zone-a", "mta", "smtp", "mail", "192.0.2.1", "mta-pool"};
    std::string bytes;
    codec::encode_event(bytes, 42, event);
    EXPECT_EQ(bytes.size(), codec::event_record_size(event));

    codec::Record record;
    const auto result = codec::decode(bytes, record);
    ASSERT_EQ(result.status, codec::DecodeStatus::ok);
    EXPECT_EQ(result.size, bytes.size());
    EXPECT_EQ(record.type, codec::RecordType::event);
    EXPECT_EQ(record.id, 42u);
    const PageEvent& got = record.event;
    EXPECT_EQ(got.action, event.action);
    EXPECT_EQ(got.receiver, event.receiver);
    EXPECT_EQ(got.dedup_key, event.dedup_key);
    EXPECT_EQ(got.severity, event.severity);
    EXPECT_EQ(got.tier, 3);
    EXPECT_EQ(got.kind, event.kind);
    EXPECT_EQ(got.summary, event.summary);
    EXPECT_EQ(got.labels.node, "mta1");
    EXPECT_EQ(got.labels.address, "192.0.2.1");
    EXPECT_EQ(got.labels.group, "mta-pool");
    EXPECT_EQ(got.starts_at, event.starts_at);
    EXPECT_EQ(got.at, event.at);
}

// An event that updates what the receiver was told (warning, tier 1, in zone-b).
PageEvent replacing_event(PageAction action, std::string receiver, std::string key) {
    PageEvent event = make_event(action, std::move(receiver), std::move(key));
    event.replaces = SentIdentity{Grade::warning, 1, event.labels};
    event.replaces->labels.zone = "zone-b";
    return event;
}

TEST(OutboxCodec, ReplacedIdentityRoundTrips) {
    const PageEvent event = replacing_event(PageAction::repeat, "am", "group/mta-pool");
    std::string bytes;
    codec::encode_event(bytes, 9, event);
    EXPECT_EQ(bytes.size(), codec::event_record_size(event));
    codec::Record record;
    ASSERT_EQ(codec::decode(bytes, record).status, codec::DecodeStatus::ok);
    ASSERT_TRUE(record.event.replaces);
    EXPECT_EQ(*record.event.replaces, *event.replaces);
    EXPECT_EQ(record.event.identity(), event.identity());
}

// A record as written before `replaces` was kept (captured from that encoder): id 5, a repeat
// of make_event(repeat, "am", "tierwatch/group/mta-pool") at warning, tier 1.
std::string old_format_record() {
    static constexpr std::string_view hex =
        "5457424f85000000bd3ca10c010500000000000000010101010000f323845bd71800ac16208b5bd71802"
        "000000616d180000007469657277617463682f67726f75702f6d74612d706f6f6c150000004d544120706f"
        "6f6c2062656c6f772071756f72756d00000000060000007a6f6e652d61030000006d74610000000000000000"
        "00000000080000006d74612d706f6f6c";
    std::string bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return bytes;
}

PageEvent old_format_event() {
    PageEvent event = make_event(PageAction::repeat, "am", "tierwatch/group/mta-pool");
    event.severity = Grade::warning;
    event.tier = 1;
    return event;
}

TEST(OutboxCodec, RecordsWithoutReplacesKeepTheOldFormat) {
    codec::Record record;
    const std::string old = old_format_record();
    ASSERT_EQ(codec::decode(old, record).status, codec::DecodeStatus::ok);
    EXPECT_EQ(record.id, 5u);
    EXPECT_EQ(record.event.identity(), old_format_event().identity());
    EXPECT_EQ(record.event.dedup_key, "tierwatch/group/mta-pool");
    EXPECT_FALSE(record.event.replaces);
    std::string now;
    codec::encode_event(now, 5, old_format_event());
    EXPECT_EQ(now, old) << "an event without replaces is written exactly as before";
}

TEST(OutboxCodec, TornTailAtEveryOffsetKeepsTheWholeRecordsBeforeIt) {
    std::string bytes;
    codec::encode_event(bytes, 1, make_event(PageAction::trigger, "am", "k1"));
    const std::size_t first_end = bytes.size();
    codec::encode_delivered(bytes, 1);
    const std::size_t second_end = bytes.size();
    codec::encode_event(bytes, 2, make_event(PageAction::resolve, "am", "k1"));

    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
        SCOPED_TRACE("cut at " + std::to_string(cut));
        const auto scan = codec::scan(std::string_view(bytes).substr(0, cut));
        const std::size_t whole = cut >= bytes.size() ? 3
                                  : cut >= second_end ? 2
                                  : cut >= first_end  ? 1
                                                      : 0;
        ASSERT_EQ(scan.records.size(), whole);
        const bool on_boundary =
            cut == 0 || cut == first_end || cut == second_end || cut == bytes.size();
        if (on_boundary) {
            EXPECT_TRUE(scan.damage.empty());
        } else {
            ASSERT_EQ(scan.damage.size(), 1u);
            EXPECT_TRUE(scan.damage[0].tail);
            const std::size_t start = whole == 0 ? 0 : whole == 1 ? first_end : second_end;
            EXPECT_EQ(scan.damage[0].offset, start);
            EXPECT_EQ(scan.damage[0].offset + scan.damage[0].length, cut);
        }
    }
}

TEST(OutboxCodec, EveryFlippedBitIsCaughtAndTheNextRecordStillRead) {
    std::string bytes;
    codec::encode_event(bytes, 7, make_event(PageAction::trigger, "pd", "zone/zone-a"));
    const std::size_t first_end = bytes.size();
    codec::encode_event(bytes, 8, make_event(PageAction::resolve, "pd", "zone/zone-a"));

    for (std::size_t bit = 0; bit < first_end * 8; ++bit) {
        std::string damaged = bytes;
        damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
        const auto scan = codec::scan(damaged);
        ASSERT_EQ(scan.records.size(), 1u) << "bit " << bit;
        EXPECT_EQ(scan.records[0].id, 8u) << "bit " << bit;
        ASSERT_EQ(scan.damage.size(), 1u) << "bit " << bit;
        EXPECT_EQ(scan.damage[0].offset, 0u);
        EXPECT_EQ(scan.damage[0].length, first_end) << "bit " << bit;
        EXPECT_FALSE(scan.damage[0].tail);
    }
}

TEST(OutboxCodec, GarbageNeverCrashesAndNeverYieldsARecord) {
    std::mt19937 random(12345);
    for (int round = 0; round < 2000; ++round) {
        std::string garbage(random() % 300, '\0');
        for (char& c : garbage) c = static_cast<char>(random());
        // Half the rounds start with a valid magic, so the length and checksum paths run.
        if (round % 2 == 0 && garbage.size() >= 4) garbage.replace(0, 4, "TWBO");
        const auto scan = codec::scan(garbage);
        EXPECT_TRUE(scan.records.empty());
        std::size_t covered = 0;
        for (const auto& d : scan.damage) covered += d.length;
        EXPECT_EQ(covered, garbage.size());
    }
}

TEST(OutboxCodec, ResyncIsLinearOnASegmentOfRepeatedRecordHeaders) {
    // ~1 MiB of headers each claiming a 256 KiB payload with a wrong checksum: checksumming every
    // candidate's payload was ~20 GB of work (31 s in a release build); then real records.
    std::string header;
    for (const std::uint32_t word : {codec::magic, static_cast<std::uint32_t>(codec::max_payload), 0u}) {
        for (int i = 0; i < 4; ++i) header += static_cast<char>((word >> (8 * i)) & 0xff);
    }
    std::string bytes;
    while (bytes.size() < 1024 * 1024) bytes += header;
    const std::size_t junk = bytes.size();
    for (std::uint64_t id = 1; id <= 20; ++id) {
        codec::encode_event(bytes, id, make_event(PageAction::trigger, "am", "k" + std::to_string(id)));
        codec::encode_delivered(bytes, id);
    }

    const std::size_t before = codec::crc32c_bytes();
    const auto scan = codec::scan(bytes);
    const std::size_t work = codec::crc32c_bytes() - before;

    ASSERT_EQ(scan.records.size(), 40u);
    EXPECT_EQ(scan.records.back().id, 20u);
    ASSERT_EQ(scan.damage.size(), 1u);
    EXPECT_EQ(scan.damage[0].offset, 0u);
    EXPECT_EQ(scan.damage[0].length, junk);
    EXPECT_FALSE(scan.damage[0].tail);
    // Index pass, a few bytes per candidate and each real record: a small multiple of the size.
    EXPECT_LE(work, 8 * bytes.size()) << "bytes checksummed for a " << bytes.size() << "-byte segment";
    RecordProperty("bytes_checksummed", std::to_string(work));
    RecordProperty("segment_bytes", std::to_string(bytes.size()));
}

TEST(OutboxCodec, AfterDamageRecordsOfEveryLengthAreStillChecked) {
    // Past the first damage checksums come from the prefix index: every payload length and
    // alignment must agree with crc32c, and a flipped byte in any of them must still be caught.
    std::string bytes = "junk";
    std::vector<std::size_t> starts;
    for (std::uint64_t id = 1; id <= 40; ++id) {
        starts.push_back(bytes.size());
        codec::encode_event(bytes, id, make_event(PageAction::trigger, std::string(id, 'r'), "k"));
    }
    ASSERT_EQ(codec::scan(bytes).records.size(), 40u);
    for (std::size_t i = 0; i < starts.size(); ++i) {
        std::string damaged = bytes;
        damaged[starts[i] + 20] = static_cast<char>(damaged[starts[i] + 20] ^ 0x40);
        const auto scan = codec::scan(damaged);
        EXPECT_EQ(scan.records.size(), 39u) << "record " << i;
        // The first damaged record joins the leading junk into one damaged stretch.
        EXPECT_EQ(scan.damage.size(), i == 0 ? 1u : 2u) << "record " << i;
    }
}

// ------------------------------------------------------------------------------------ queue

TEST(OutboxQueue, DeliversInArrivalOrderPerReceiver) {
    OutboxQueue queue;
    queue.add(entry(1, PageAction::trigger, "pd", "a"));
    queue.add(entry(2, PageAction::trigger, "am", "a"));
    queue.add(entry(3, PageAction::trigger, "pd", "b"));
    queue.add(entry(4, PageAction::resolve, "pd", "a"));
    EXPECT_EQ(queued(queue, "pd"),
              (std::vector<std::pair<std::uint64_t, PageAction>>{
                  {1, PageAction::trigger}, {3, PageAction::trigger}, {4, PageAction::resolve}}));
    EXPECT_EQ(queue.front("pd")->id, 1u);
    EXPECT_EQ(queue.front("am")->id, 2u);
    EXPECT_EQ(queue.front("nobody"), nullptr);
    EXPECT_EQ(queue.size(), 4u);
    EXPECT_EQ(queue.size("pd"), 3u);
}

TEST(OutboxQueue, AResolveNeverOvertakesOrCancelsItsTrigger) {
    OutboxQueue queue;
    queue.add(entry(1, PageAction::trigger, "pd", "a"));
    const auto added = queue.add(entry(2, PageAction::resolve, "pd", "a"));
    EXPECT_TRUE(added.superseded.empty());
    EXPECT_EQ(queued(queue, "pd"), (std::vector<std::pair<std::uint64_t, PageAction>>{
                                       {1, PageAction::trigger}, {2, PageAction::resolve}}));
}

TEST(OutboxQueue, NewerEventsSupersedeUndeliveredRepeats) {
    OutboxQueue queue;
    queue.add(entry(1, PageAction::trigger, "pd", "a"));
    queue.front("pd")->in_flight = true;
    queue.add(entry(2, PageAction::repeat, "pd", "a"));
    queue.add(entry(3, PageAction::trigger, "pd", "b"));
    const auto second_repeat = queue.add(entry(4, PageAction::repeat, "pd", "a"));
    ASSERT_EQ(second_repeat.superseded.size(), 1u);
    EXPECT_EQ(second_repeat.superseded[0].id, 2u);
    const auto resolve = queue.add(entry(5, PageAction::resolve, "pd", "a"));
    ASSERT_EQ(resolve.superseded.size(), 1u);
    EXPECT_EQ(resolve.superseded[0].id, 4u);
    // The trigger on the wire is never touched; b is another alarm.
    EXPECT_EQ(queued(queue, "pd"),
              (std::vector<std::pair<std::uint64_t, PageAction>>{
                  {1, PageAction::trigger}, {3, PageAction::trigger}, {5, PageAction::resolve}}));
}

TEST(OutboxQueue, ASupersedingEventEndsWhatTheReceiverWasActuallyTold) {
    OutboxQueue queue;
    // Told warning/1 (in zone-b); the update to critical/2 is still undelivered when the alarm
    // clears, so the resolve (named critical/2) must also end warning/1.
    OutboxEntry update = entry(1, PageAction::repeat, "am", "k");
    update.event = replacing_event(PageAction::repeat, "am", "k");
    queue.add(update);
    OutboxEntry resolve = entry(2, PageAction::resolve, "am", "k");
    queue.add(resolve);
    const OutboxEntry* queued = queue.front("am");
    ASSERT_NE(queued, nullptr);
    EXPECT_EQ(queued->id, 2u);
    ASSERT_TRUE(queued->event.replaces);
    EXPECT_EQ(*queued->event.replaces, *update.event.replaces);
    EXPECT_EQ(queued->bytes, codec::event_record_size(queued->event));

    // Over an undelivered trigger the receiver was told nothing: nothing to end.
    OutboxQueue fresh;
    fresh.add(entry(1, PageAction::trigger, "am", "k"));
    OutboxEntry repeat = entry(2, PageAction::repeat, "am", "k");
    repeat.event = replacing_event(PageAction::repeat, "am", "k");
    fresh.add(repeat);
    ASSERT_NE(fresh.front("am"), nullptr);
    EXPECT_EQ(fresh.front("am")->event.action, PageAction::trigger);
    EXPECT_FALSE(fresh.front("am")->event.replaces);
}

TEST(OutboxQueue, ARepeatOverAnUndeliveredTriggerGoesOutAsTheTrigger) {
    OutboxQueue queue;
    queue.add(entry(1, PageAction::escalate, "eng", "a"));
    const auto added = queue.add(entry(2, PageAction::repeat, "eng", "a"));
    ASSERT_EQ(added.superseded.size(), 1u);
    EXPECT_EQ(queued(queue, "eng"),
              (std::vector<std::pair<std::uint64_t, PageAction>>{{2, PageAction::escalate}}));
}

TEST(OutboxQueue, WhenFullCancelledPairsMakeRoomAndLivePagesAreNeverDropped) {
    OutboxQueue queue(OutboxLimits{4, 1 << 20});
    queue.add(entry(1, PageAction::trigger, "pd", "a"));
    queue.front("pd")->in_flight = true;
    queue.add(entry(2, PageAction::trigger, "pd", "b"));
    queue.add(entry(3, PageAction::resolve, "pd", "b"));
    queue.add(entry(4, PageAction::trigger, "pd", "c"));
    // Full: the undelivered trigger+resolve for b came and went; they make room for d.
    const auto added = queue.add(entry(5, PageAction::trigger, "pd", "d"));
    EXPECT_TRUE(added.was_full);
    EXPECT_TRUE(added.accepted);
    EXPECT_EQ(added.superseded.size(), 2u);
    EXPECT_EQ(queued(queue, "pd"),
              (std::vector<std::pair<std::uint64_t, PageAction>>{
                  {1, PageAction::trigger}, {4, PageAction::trigger}, {5, PageAction::trigger}}));
    // A resolve for an undelivered trigger cancels it under pressure.
    queue.add(entry(6, PageAction::trigger, "pd", "e"));
    const auto resolve = queue.add(entry(7, PageAction::resolve, "pd", "c"));
    EXPECT_TRUE(resolve.accepted);
    EXPECT_EQ(resolve.superseded.size(), 2u);
    EXPECT_EQ(queue.size(), 3u);
    // Full of live triggers: the new one is refused, nothing queued is dropped.
    queue.add(entry(8, PageAction::trigger, "pd", "f"));
    const auto refused = queue.add(entry(9, PageAction::trigger, "pd", "g"));
    EXPECT_TRUE(refused.was_full);
    EXPECT_FALSE(refused.accepted);
    EXPECT_EQ(queue.size(), 4u);
    EXPECT_FALSE(queue.has_pending("pd", "g"));
}

TEST(OutboxQueue, ByteBoundCountsEncodedRecords) {
    const auto one = entry(1, PageAction::trigger, "pd", "a");
    OutboxQueue queue(OutboxLimits{100, one.bytes * 2});
    EXPECT_TRUE(queue.add(one).accepted);
    EXPECT_TRUE(queue.add(entry(2, PageAction::trigger, "pd", "b")).accepted);
    EXPECT_FALSE(queue.add(entry(3, PageAction::trigger, "pd", "c")).accepted);
    EXPECT_EQ(queue.bytes(), one.bytes * 2);
}

// ------------------------------------------------------------------------------------ files

TEST(Outbox, ReplaysPendingEventsAfterRestart) {
    const auto dir = fresh_dir("replay");
    {
        metrics::Registry registry;
        Outbox outbox(dir, {}, registry);
        EXPECT_EQ(outbox.append(make_event(PageAction::trigger, "pd", "a")).status,
                  OutboxWrite::durable);
        const auto b = outbox.append(make_event(PageAction::trigger, "pd", "b"));
        outbox.append(make_event(PageAction::resolve, "pd", "a"));
        outbox.append(make_event(PageAction::repeat, "am", "x"), false);  // memory only
        outbox.remove("pd", b.id);
        EXPECT_EQ(test::metric(registry, "tierwatch_outbox_depth"), 3.0);
    }
    metrics::Registry registry;
    Outbox outbox(dir, {}, registry);
    EXPECT_EQ(queued(outbox.queue(), "pd"),
              (std::vector<std::pair<std::uint64_t, PageAction>>{{1, PageAction::trigger},
                                                                 {3, PageAction::resolve}}));
    EXPECT_EQ(outbox.queue().size("am"), 0u);
    EXPECT_EQ(test::metric(registry, "tierwatch_outbox_depth"), 2.0);
    EXPECT_EQ(test::metric(registry, "tierwatch_outbox_corrupt_records_total"), 0.0);
    // New ids continue after the replayed ones.
    EXPECT_GT(outbox.append(make_event(PageAction::trigger, "pd", "c")).id, 3u);
    fs::remove_all(dir);
}

TEST(Outbox, ReplaysOldFormatRecordsAndReplacedIdentities) {
    const auto dir = fresh_dir("replaces");
    // A segment left by a daemon from before `replaces` was kept, with one pending page.
    write_bytes(dir / "segment-00000001.log", old_format_record());
    {
        metrics::Registry registry;
        Outbox outbox(dir, {}, registry);
        EXPECT_EQ(outbox.queue().size("am"), 1u);
        EXPECT_EQ(outbox.append(replacing_event(PageAction::repeat, "pd", "k")).status,
                  OutboxWrite::durable);
    }
    // Restarted between the decision and the delivery: the old identity must still be ended.
    metrics::Registry registry;
    Outbox outbox(dir, {}, registry);
    const OutboxEntry* old = outbox.queue().front("am");
    ASSERT_NE(old, nullptr);
    EXPECT_EQ(old->id, 5u);
    EXPECT_EQ(old->event.identity(), old_format_event().identity());
    EXPECT_FALSE(old->event.replaces);
    const OutboxEntry* update = outbox.queue().front("pd");
    ASSERT_NE(update, nullptr);
    ASSERT_TRUE(update->event.replaces);
    EXPECT_EQ(*update->event.replaces, *replacing_event(PageAction::repeat, "pd", "k").replaces);
    EXPECT_EQ(test::metric(registry, "tierwatch_outbox_corrupt_records_total"), 0.0);
    fs::remove_all(dir);
}

TEST(Outbox, ABatchIsWrittenOnceAndStoredAsCoalesced) {
    const auto dir = fresh_dir("batch");
    {
        metrics::Registry registry;
        Outbox outbox(dir, {}, registry);
        const auto results =
            outbox.append({make_event(PageAction::trigger, "pd", "a"),
                           make_event(PageAction::repeat, "pd", "a", "newer summary"),
                           make_event(PageAction::trigger, "am", "a")});
        ASSERT_EQ(results.size(), 3u);
        for (const auto& r : results) EXPECT_EQ(r.status, OutboxWrite::durable);
    }
    // The repeat replaced the undelivered trigger and is stored as the trigger it stands for.
    metrics::Registry registry;
    Outbox outbox(dir, {}, registry);
    ASSERT_EQ(outbox.queue().size("pd"), 1u);
    EXPECT_EQ(outbox.queue().front("pd")->event.action, PageAction::trigger);
    EXPECT_EQ(outbox.queue().front("pd")->event.summary, "newer summary");
    EXPECT_EQ(outbox.queue().size("am"), 1u);
    fs::remove_all(dir);
}

TEST(Outbox, TornTailAndCorruptRecordsAreReportedAndSkipped) {
    const auto dir = fresh_dir("damage");
    {
        metrics::Registry registry;
        Outbox outbox(dir, {}, registry);
        for (const char* key : {"a", "b", "c"})
            outbox.append(make_event(PageAction::trigger, "pd", key));
    }
    const auto segment = only_segment(dir);
    std::string bytes = read_bytes(segment);
    const std::size_t record = bytes.size() / 3;
    bytes[record + record / 2] ^= 0x40;    // corrupt b
    bytes += bytes.substr(0, record - 5);  // a torn copy of a record at the end
    write_bytes(segment, bytes);

    metrics::Registry registry;
    Outbox outbox(dir, {}, registry);
    std::vector<std::string> keys;
    for (const OutboxEntry* e : outbox.queue().entries()) keys.push_back(e->event.dedup_key);
    EXPECT_EQ(keys, (std::vector<std::string>{"a", "c"}));
    EXPECT_EQ(test::metric(registry, "tierwatch_outbox_corrupt_records_total"), 2.0);
    // The damage is gone from the compacted segment: a second restart reports nothing.
    metrics::Registry again;
    Outbox reopened(dir, {}, again);
    EXPECT_EQ(reopened.queue().size(), 2u);
    EXPECT_EQ(test::metric(again, "tierwatch_outbox_corrupt_records_total"), 0.0);
    fs::remove_all(dir);
}

TEST(Outbox, InterruptedCompactionLeavesNoDuplicates) {
    const auto dir = fresh_dir("compaction");
    {
        metrics::Registry registry;
        Outbox outbox(dir, {}, registry);
        outbox.append(make_event(PageAction::trigger, "pd", "a"));
        outbox.append(make_event(PageAction::trigger, "pd", "b"));
    }
    // A crash after the rename but before the old segment was unlinked leaves both.
    const auto segment = only_segment(dir);
    fs::copy_file(segment, dir / "segment-00000000.log");
    write_bytes(dir / "segment-00000099.log.tmp", "half a compaction");
    metrics::Registry registry;
    Outbox outbox(dir, {}, registry);
    EXPECT_EQ(outbox.queue().size(), 2u);
    EXPECT_FALSE(fs::exists(dir / "segment-00000099.log.tmp"));
    fs::remove_all(dir);
}

TEST(Outbox, FullOutboxIsCountedAndRefusesOnlyWhatCannotBeCoalesced) {
    const auto dir = fresh_dir("full");
    metrics::Registry registry;
    Outbox outbox(dir, OutboxLimits{2, 1 << 20}, registry);
    outbox.append(make_event(PageAction::trigger, "pd", "a"));
    outbox.append(make_event(PageAction::trigger, "pd", "b"));
    const auto refused = outbox.append(make_event(PageAction::trigger, "pd", "c"));
    EXPECT_EQ(refused.status, OutboxWrite::full);
    EXPECT_NE(refused.error.find("outbox full"), std::string::npos);
    EXPECT_EQ(test::metric(registry, "tierwatch_outbox_full_total"), 1.0);
    // A repeat supersedes in place without needing room.
    EXPECT_EQ(outbox.append(make_event(PageAction::repeat, "pd", "a")).status,
              OutboxWrite::durable);
    EXPECT_EQ(outbox.queue().size(), 2u);
    fs::remove_all(dir);
}

// A small tmpfs fills up: the append says why, the page is still kept (in memory) for delivery.
TEST(Outbox, FullDiskIsAClearErrorAndTheEventIsKeptInMemory) {
    const SmallTmpfs tmpfs("enospc", "size=16k");
    if (!tmpfs.mounted) GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    const auto& dir = tmpfs.dir;
    {
        metrics::Registry registry;
        Outbox outbox(dir / "outbox", {}, registry);
        const PageEvent big = make_event(PageAction::trigger, "pd", "k", std::string(3000, 's'));
        Outbox::Appended last;
        for (int i = 0; i < 20 && last.status != OutboxWrite::memory_only; ++i) {
            PageEvent event = big;
            event.dedup_key = "k" + std::to_string(i);
            last = outbox.append(event);
        }
        EXPECT_EQ(last.status, OutboxWrite::memory_only);
        EXPECT_NE(last.error.find("No space left on device"), std::string::npos) << last.error;
        EXPECT_EQ(test::metric(registry, "tierwatch_outbox_write_errors_total{error=\"ENOSPC\"}"),
                  1.0);
        ASSERT_NE(outbox.queue().find("pd", last.id), nullptr);
        EXPECT_FALSE(outbox.queue().find("pd", last.id)->durable);
        // What did reach the disk replays cleanly: the partial record was cut off.
        const std::size_t durable = outbox.queue().size() - 1;
        metrics::Registry again;
        Outbox reopened_same_dir(dir / "outbox", {}, again);
        EXPECT_EQ(reopened_same_dir.queue().size(), durable);
        EXPECT_EQ(test::metric(again, "tierwatch_outbox_corrupt_records_total"), 0.0);
    }
}

// Pages the full disk refused are kept in memory; once it takes writes again they are written
// too, and a restart replays them in arrival order: the resolve that was written first must not
// overtake the trigger that was written later.
TEST(Outbox, PagesRefusedByAFullDiskAreWrittenOnceItRecoversAndReplayInOrder) {
    const SmallTmpfs tmpfs("enospc-recovery", "size=64k");
    if (!tmpfs.mounted) GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    const auto& dir = tmpfs.dir;
    {
        metrics::Registry registry;
        Outbox outbox(dir / "outbox", {}, registry);
        const auto filler = dir / "filler";
        {
            std::ofstream out(filler, std::ios::binary);
            const std::string block(4096, '\0');
            while (out.write(block.data(), block.size())) out.flush();
        }
        const auto trigger = outbox.append(make_event(PageAction::trigger, "pd", "k"));
        EXPECT_EQ(trigger.status, OutboxWrite::memory_only) << trigger.error;
        EXPECT_NE(trigger.error.find("(ENOSPC)"), std::string::npos) << trigger.error;
        EXPECT_EQ(test::metric(registry, "tierwatch_outbox_writable"), 0.0);

        fs::remove(filler);
        const auto resolve = outbox.append(make_event(PageAction::resolve, "pd", "k"));
        EXPECT_EQ(resolve.status, OutboxWrite::durable) << resolve.error;
        EXPECT_EQ(test::metric(registry, "tierwatch_outbox_writable"), 1.0);
        EXPECT_TRUE(outbox.queue().find("pd", trigger.id)->durable) << "written on recovery";

        metrics::Registry again;
        Outbox reopened(dir / "outbox", {}, again);
        ASSERT_EQ(reopened.queue().size("pd"), 2u);
        EXPECT_EQ(reopened.queue().front("pd")->event.action, PageAction::trigger);
        EXPECT_EQ(reopened.queue().front("pd")->id, trigger.id);
    }
}

// ------------------------------------------------------------------------------------ SIGKILL

// The child side of the SIGKILL test: runs only when the parent sets TIERWATCH_OUTBOX_DRIVER
// to "DIR PORT ROUND COUNT". It queues COUNT alarms (trigger, and resolve for even ones),
// notes each key once the outbox accepted it, and sends until the outbox is empty.
TEST(OutboxKillDriver, Run) {
    const char* spec = std::getenv("TIERWATCH_OUTBOX_DRIVER");
    if (spec == nullptr) GTEST_SKIP() << "driver mode for the SIGKILL test";
    spdlog::set_level(spdlog::level::warn);
    std::istringstream in(spec);
    std::string dir;
    unsigned port = 0;
    int round = 0;
    int count = 0;
    in >> dir >> port >> round >> count;

    boost::asio::io_context io;
    metrics::Registry registry;
    Outbox outbox(fs::path(dir) / "outbox", {}, registry);
    AlertingConfig alerting;
    PagerConfig pager;
    pager.name = "hook";
    pager.kind = PagerKind::webhook;
    pager.url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
    alerting.pagers.push_back(pager);
    DispatcherOptions options;
    options.backoff.initial = std::chrono::milliseconds(5);
    options.backoff.max = std::chrono::milliseconds(50);
    Dispatcher dispatcher(io.get_executor(), alerting, outbox, registry, options);
    dispatcher.start();
    const int log = ::open((fs::path(dir) / "enqueued").c_str(),
                           O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    for (int i = 0; i < count; ++i) {
        const std::string key = "alarm-" + std::to_string(round) + "-" + std::to_string(i);
        dispatcher.submit(make_event(PageAction::trigger, "hook", key));
        std::string line = key + " trigger\n";
        if (i % 2 == 0) {
            dispatcher.submit(make_event(PageAction::resolve, "hook", key));
            line += key + " resolve\n";
        }
        // Written after the outbox fsync'd the events: from here on they must be delivered.
        ASSERT_EQ(::write(log, line.data(), line.size()), static_cast<ssize_t>(line.size()));
        io.poll();
    }
    ::close(log);
    ASSERT_TRUE(test::run_until(
        io, [&] { return outbox.queue().size() == 0; }, std::chrono::seconds(60)));
}

TEST(OutboxDurability, EveryPageIsDeliveredAcrossRepeatedSigkill) {
    const int rounds =
        std::getenv("TIERWATCH_KILL_ROUNDS") ? std::atoi(std::getenv("TIERWATCH_KILL_ROUNDS")) : 50;
    const auto dir = fresh_dir("sigkill");
    std::mutex mutex;
    std::vector<std::pair<std::string, std::string>> deliveries;  // key, action
    test::RecordingServer server([&](const test::RecordedRequest& request) {
        const auto body = boost::json::parse(request.body).as_object();
        // A receiver that takes a moment, so most kills land while pages are on the wire.
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        std::lock_guard lock(mutex);
        deliveries.emplace_back(std::string(body.at("dedup_key").as_string()),
                                std::string(body.at("action").as_string()));
        return std::pair<unsigned, std::string>{200, "{}"};
    });
    const std::string self = fs::read_symlink("/proc/self/exe");
    std::mt19937 random(2026);
    int killed = 0;
    // The last round is never killed: it drains whatever the killed ones left.
    for (int round = 0; round <= rounds; ++round) {
        const std::string spec = "TIERWATCH_OUTBOX_DRIVER=" + dir.string() + " " +
                                 std::to_string(server.port()) + " " + std::to_string(round) + " " +
                                 std::to_string(round < rounds ? 6 : 0);
        std::vector<std::string> env_storage{spec};
        for (char** e = environ; *e != nullptr; ++e) {
            if (!std::string_view(*e).starts_with("TIERWATCH_OUTBOX_DRIVER="))
                env_storage.emplace_back(*e);
        }
        std::vector<char*> envp;
        for (auto& s : env_storage) envp.push_back(s.data());
        envp.push_back(nullptr);
        std::string filter = "--gtest_filter=OutboxKillDriver.Run";
        std::string quiet = "--gtest_brief=1";
        char* argv[] = {const_cast<char*>(self.c_str()), filter.data(), quiet.data(), nullptr};
        pid_t child = 0;
        ASSERT_EQ(::posix_spawn(&child, self.c_str(), nullptr, nullptr, argv, envp.data()), 0);
        int status = 0;
        if (round < rounds) {
            std::this_thread::sleep_for(std::chrono::milliseconds(random() % 40));
            if (::waitpid(child, &status, WNOHANG) == 0) {
                ::kill(child, SIGKILL);
                ++killed;
            }
        }
        ::waitpid(child, &status, 0);
        if (round == rounds) {
            ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the draining run failed";
        }
    }
    EXPECT_GT(killed, rounds / 2) << "most rounds should be killed mid-send";

    // Every page the outbox accepted was delivered; nothing arrived under another key; a
    // resolve never reached the receiver before its trigger.
    std::set<std::pair<std::string, std::string>> enqueued;
    std::ifstream log(dir / "enqueued");
    for (std::string key, action; log >> key >> action;) enqueued.emplace(key, action);
    std::lock_guard lock(mutex);
    std::set<std::pair<std::string, std::string>> delivered(deliveries.begin(), deliveries.end());
    for (const auto& page : enqueued)
        EXPECT_TRUE(delivered.count(page)) << page.first << " " << page.second;
    std::set<std::string> resolved;
    for (const auto& [key, action] : deliveries) {
        EXPECT_TRUE(key.starts_with("alarm-")) << key;
        if (action == "resolve") resolved.insert(key);
        if (action == "trigger") {
            EXPECT_FALSE(resolved.count(key)) << "trigger after resolve for " << key;
        }
    }
    for (const auto& page : delivered)
        EXPECT_TRUE(page.second == "trigger" || page.second == "resolve");
    // The outbox is intact and empty.
    metrics::Registry registry;
    Outbox outbox(dir / "outbox", {}, registry);
    EXPECT_EQ(outbox.queue().size(), 0u);
    EXPECT_EQ(test::metric(registry, "tierwatch_outbox_corrupt_records_total"), 0.0);
    std::printf("SIGKILL rounds: %d killed of %d; %zu pages enqueued, %zu deliveries\n", killed,
                rounds, enqueued.size(), deliveries.size());
    fs::remove_all(dir);
}

}  // namespace
}  // namespace tierwatch
