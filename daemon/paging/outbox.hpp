// The durable outbox: every page event is written to state_dir/outbox and fsync'd before a
// sender sees it, and stays there until its receiver accepted it, so no page is lost to a crash.
// Three layers: a record codec and an in-memory queue (both sans-io), and the file layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/alarms/alarms.hpp"
#include "daemon/base/expected.hpp"
#include "daemon/metrics/exposition.hpp"

namespace tierwatch {

// ---------------------------------------------------------------------------------------------
// Record codec. A record is: magic (u32), payload length (u32), CRC-32C of length and payload
// (u32), payload. All integers little-endian. The magic lets a reader find the next record after
// damage; the CRC covers the length so a flipped length bit is caught too.
namespace outbox_codec {

inline constexpr std::uint32_t magic = 0x4f425754;  // "TWBO" on disk
inline constexpr std::size_t header_size = 12;
inline constexpr std::size_t max_payload = 256 * 1024;

std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc = 0) noexcept;
// Bytes crc32c has checksummed on the calling thread so far: the work of a replay, which the
// tests bound by the file's size.
std::size_t crc32c_bytes() noexcept;

enum class RecordType : std::uint8_t { event = 1, delivered = 2 };

struct Record {
    RecordType type = RecordType::event;
    std::uint64_t id = 0;
    PageEvent event;  // type == event only
};

void encode_event(std::string& out, std::uint64_t id, const PageEvent& event);
void encode_delivered(std::string& out, std::uint64_t id);
// Encoded size of an event record (for the outbox's byte bound).
std::size_t event_record_size(const PageEvent& event);

enum class DecodeStatus : std::uint8_t { ok, need_more, corrupt };
struct DecodeResult {
    DecodeStatus status = DecodeStatus::need_more;
    std::size_t size = 0;  // bytes of the record when ok
    std::string_view why;  // when corrupt
};
// Decodes the record at the start of `bytes`.
DecodeResult decode(std::string_view bytes, Record& out);

// A damaged stretch of a file; `tail` when no valid record follows it (a torn last write).
struct Damage {
    std::size_t offset = 0;
    std::size_t length = 0;
    bool tail = false;
    std::string why;
};
struct Scan {
    std::vector<Record> records;
    std::vector<Damage> damage;
};
// Reads every record of a whole file, skipping damage: never throws on bad bytes. Linear in the
// file's size however it is damaged (a resync checks each candidate in constant time).
Scan scan(std::string_view bytes);

}  // namespace outbox_codec

// ---------------------------------------------------------------------------------------------
// The in-memory queue: one FIFO per receiver, coalescing and bounds. Sans-io.

struct OutboxLimits {
    std::size_t max_events = 10000;
    std::size_t max_bytes = 16 * 1024 * 1024;  // encoded record bytes of queued events
};

struct OutboxEntry {
    std::uint64_t id = 0;  // record id; order of arrival
    PageEvent event;
    std::size_t bytes = 0;
    bool durable = true;     // false: kept in memory only (re-posts, or the disk failed)
    bool in_flight = false;  // a sender has it; it can no longer be coalesced away
    bool refused = false;    // meant for the disk, which refused it: written once it recovers
};

class OutboxQueue {
public:
    explicit OutboxQueue(OutboxLimits limits = {}) : limits_(limits) {}

    struct Added {
        bool accepted = false;  // false: full even after coalescing; the event was not queued
        bool was_full = false;  // the bound was reached (whether or not coalescing made room)
        // Entries taken out because the new event made them redundant (their records need a
        // tombstone); for a resolve that cancelled an undelivered trigger under pressure, the
        // new event itself is not queued and its id is listed too.
        std::vector<OutboxEntry> superseded;
    };
    // Queues `entry` behind every older event for its receiver. A newer event for the same
    // receiver and dedup key supersedes an older undelivered repeat (and a duplicate resolve);
    // a trigger or escalation is the receiver's first word of the alarm, so only a newer firing
    // event replaces it (and takes over its action), never a resolve, unless the outbox is full.
    Added add(OutboxEntry entry, bool enforce_limits = true);

    // The oldest entry for `receiver`, or null. Delivery is strictly in order per receiver, so
    // a resolve can never overtake its trigger.
    OutboxEntry* front(std::string_view receiver);
    OutboxEntry* find(std::string_view receiver, std::uint64_t id);
    // Removes an entry (delivered or dropped); returns it if it was there.
    std::optional<OutboxEntry> remove(std::string_view receiver, std::uint64_t id);
    // An undelivered entry for this receiver and key exists (re-posts are not stacked on it).
    bool has_pending(std::string_view receiver, std::string_view dedup_key) const;

    std::size_t size() const noexcept { return events_; }
    std::size_t bytes() const noexcept { return bytes_; }
    std::size_t size(std::string_view receiver) const;
    std::vector<std::string> receivers() const;
    // Every entry, oldest first per receiver (compaction, tests).
    std::vector<const OutboxEntry*> entries() const;
    const OutboxLimits& limits() const noexcept { return limits_; }

private:
    bool over(std::size_t extra_bytes) const noexcept;
    void coalesce_pairs(std::vector<OutboxEntry>& removed);
    void erase(std::deque<OutboxEntry>& queue, std::deque<OutboxEntry>::iterator it,
               std::vector<OutboxEntry>& removed);

    OutboxLimits limits_;
    std::map<std::string, std::deque<OutboxEntry>, std::less<>> queues_;
    std::size_t events_ = 0;
    std::size_t bytes_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The file layer: append-only segment files in one directory, replayed on start.

enum class OutboxWrite : std::uint8_t { durable, memory_only, full };

class Outbox {
public:
    // Creates `dir` if needed and replays it: damaged records are logged (file and offset),
    // counted and skipped. Throws std::runtime_error only if the directory cannot be used at all.
    Outbox(std::filesystem::path dir, OutboxLimits limits, metrics::Registry& registry);
    ~Outbox();
    Outbox(const Outbox&) = delete;
    Outbox& operator=(const Outbox&) = delete;

    struct Appended {
        OutboxWrite status = OutboxWrite::durable;
        std::uint64_t id = 0;
        std::string error;  // memory_only: why the disk refused (ENOSPC...); full: the bound
    };
    // Writes and fsyncs the event, then queues it. When the disk refuses (a full disk), the
    // event is still queued in memory so it can be delivered, and the error says why.
    // `durable` false queues without writing (Alertmanager re-posts, derived from live state).
    Appended append(PageEvent event, bool durable = true);
    // The same for a batch (one AlarmBook update) with one write and one fsync for all.
    std::vector<Appended> append(std::vector<PageEvent> events, bool durable = true);
    // The receiver accepted (or permanently refused) the entry: it leaves the outbox.
    void remove(std::string_view receiver, std::uint64_t id);

    OutboxQueue& queue() noexcept { return queue_; }
    const OutboxQueue& queue() const noexcept { return queue_; }
    const std::filesystem::path& directory() const noexcept { return dir_; }
    // Bytes in the current segment file (tests).
    std::size_t segment_bytes() const noexcept { return file_bytes_; }

private:
    void replay();
    Expected<> start_segment(std::uint64_t number, const std::string& contents);
    Expected<> write_all(const std::string& bytes, bool sync);
    void maybe_compact();
    // The disk took a write again: the pages it refused meanwhile are written too.
    void write_refused();
    void update_depth();

    std::filesystem::path dir_;
    OutboxQueue queue_;
    int fd_ = -1;
    std::uint64_t segment_ = 0;
    std::size_t file_bytes_ = 0;
    std::uint64_t next_id_ = 1;
    std::string scratch_;
    bool disk_error_logged_ = false;

    metrics::Gauge& depth_;
    metrics::Counter& corrupt_;
    metrics::Counter& full_;
    metrics::Family<metrics::Counter>& write_errors_;
    metrics::Gauge& writable_;
};

}  // namespace tierwatch
