// SPDX-License-Identifier: Apache-2.0
// berthd's core: container records, lifecycle through berth-shim, events, and the Engine API
// handlers (api.cpp). Internal to src/daemon.
//
// State on disk:
//   <data-root>/containers/<id>/config.v2.json   the record (Config, HostConfig, State, …)
//   <data-root>/containers/<id>/<id>-json.log     container output (written by the shim)
//   <data-root>/containers/<id>/{hosts,hostname,resolv.conf}
//   <exec-root>/containers/<id>/                  bundle + shim state: config.json, rootfs/
//                                                 (mount point), shim.pid, init.pid, exit.json,
//                                                 exec-<tag>.exit (an exec's status, by the shim)
//   <exec-root>/containers/<id>/execs/<exec-id>.json  exec records (exec_records.cpp)
//   <exec-root>/runtime/<runtime>/                runtime --root
// The shim outlives berthd; on startup berthd re-adopts live shims (pidfd) and reads exit.json
// of containers that ended while it was down; exec records are reloaded, and running execs are
// watched through their shim again (or their status is read from exec-<tag>.exit).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cgroups/attach_primer.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "daemon/config.hpp"
#include "daemon/images.hpp"
#include "daemon/shim_spare.hpp"
#include "http/http.hpp"
#include "volume/volume.hpp"

namespace berth::daemon {

using json = nlohmann::json;

struct MountPoint;  // container_volumes.hpp

struct ContainerState {
  std::string status = "created";  // created running paused restarting removing exited dead
  int pid = 0;
  int exit_code = 0;
  std::string error;
  std::string started_at = "0001-01-01T00:00:00Z";
  std::string finished_at = "0001-01-01T00:00:00Z";
  bool oom_killed = false;
};

// An exec instance; fields guarded by Daemon::mu. Lifetime as dockerd's: it is in its container's
// exec_ids from create until it ends (or fails to start); an ended one stays inspectable until
// the exec GC (two 5-minute sweeps) or its container's removal; one still in exec_ids when its
// container stops is forgotten then.
struct ExecSession {
  std::string id, container_id;
  json config;  // ExecConfig
  bool running = false;
  int exit_code = -1;
  bool has_exit = false;
  int pid = 0;
  bool can_remove = false;      // not live at the last GC sweep: dropped at the next
  bool forgotten = false;       // unregistered: its record is gone, nothing writes it again
  std::int64_t created_ns = 0;  // the order of ExecIDs after a restart
  int pty_master = -1;  // while it runs: the shim connection its resizes go to
};

// A container made ahead of its start: right after the API create (docker run starts what it
// creates within milliseconds) the runtime creates it through a shim in --create-only mode; its
// init waits for the start. Starting it is then one message to the shim. The shim drops it by
// itself when berthd closes `ready`, goes away, or does not start it within its TTL.
struct PreparedTask {
  UniqueFd ready;  // the shim's ready socket: "s\n" starts the container
  int shim_pid = 0;
  std::chrono::steady_clock::time_point expires{};  // when its shim drops it (--create-ttl-ms)
};

struct Container {
  std::string id, name, created, image, image_id;
  json config, host_config;
  ContainerState state;
  int restart_count = 0;
  bool manually_stopped = false;
  std::string runtime;
  int shim_pid = 0;
  std::uint64_t exit_gen = 0;   // bumps on every exit
  std::uint64_t start_gen = 0;  // bumps on every start
  bool removed = false;
  bool rootfs_mounted = false;
  std::vector<std::string> exec_ids;
  bool rm_volumes = false;  // remove anonymous volumes with the container (rm -v, --rm)
  std::optional<PreparedTask> prepared;  // guarded by op
  // Starts waiting for op; the thread that made the container ahead starts it for the first
  // of them when it is done (no hand-over of op in between) and leaves the outcome here.
  std::atomic<int> starts_waiting{0};
  std::optional<Status> started_ahead;  // guarded by op
  std::mutex op;  // serializes start/stop/remove of this container
};

struct Event {
  std::string type, action, id, from;
  std::map<std::string, std::string> attrs;
  std::int64_t time_nano = 0;
  std::string json_line() const;
};

struct Proc {
  int status = -1;  // exit code or 128+signal
  std::string out, err;
};
// Runs argv (PATH lookup), capturing stdout/stderr; stdin is /dev/null.
Proc run_capture(const std::vector<std::string>& argv);

// Maps an Error to dockerd's HTTP status.
int http_status(const Error& e);
std::string rfc3339_now();

class Networking;
class PhaseLog;

class Daemon {
 public:
  explicit Daemon(Config cfg);
  ~Daemon();
  Status init();
  Status listen();
  void shutdown();
  Status reload();
  const Config& config() const { return cfg_; }
  http::Handler handler();

  // ---- containers (containers.cpp) ----
  // What a create asks for, checked and completed (image config merged, HostConfig defaults):
  // everything of the container but its id, name and times.
  struct Draft {
    std::string image, image_id, image_config, runtime;
    json cfg, hc;  // cfg without the Hostname the id gives
    json net_plan;
    std::vector<std::string> warnings;
  };
  Result<std::shared_ptr<Container>> find(const std::string& name_or_id);
  Result<std::pair<std::string, std::vector<std::string>>> create(const std::string& name, json body);
  Status start(const std::string& ref);
  Status stop(const std::string& ref, std::optional<int> timeout, const std::string& signal = {});
  Status kill(const std::string& ref, const std::string& signal);
  Status restart(const std::string& ref, std::optional<int> timeout);
  Status remove(const std::string& ref, bool force, bool volumes);
  Status pause(const std::string& ref, bool pause);
  Status rename(const std::string& ref, const std::string& new_name);
  // A change that the container's start must see (update, a copy into it, network connect) drops
  // the container made ahead of the start, if any; the start then makes it anew.
  void drop_prepared(const std::shared_ptr<Container>& c);  // takes c->op
  void drop_prepared_locked(Container& c);                  // REQUIRES: c.op held
  // Blocks until the condition; returns the exit code. cancelled(): abort (client gone).
  Result<int> wait(const std::string& ref, const std::string& condition, const std::function<bool()>& cancelled);
  json inspect_json(const Container& c, bool size);
  json summary_json(const Container& c);
  std::vector<std::shared_ptr<Container>> all();
  std::string log_path(const Container& c) const;
  std::string bundle_dir(const std::string& id) const;
  std::string runtime_root(const std::string& runtime) const;
  std::vector<std::string> runtime_base(const Container& c) const;

  // exec
  Result<std::string> exec_create(const std::string& ref, json body);
  Result<std::shared_ptr<ExecSession>> find_exec(const std::string& id);
  // Runs an exec session streaming to fd (hijacked); blocks until the process exits.
  // detach_keys: bytes (parse_detach_keys); the session ends early when the client types them.
  Status exec_run(const std::shared_ptr<ExecSession>& s, int fd, std::string pending, bool tty,
                  const std::string& detach_keys = {});
  Status exec_resize(const std::string& id, unsigned rows, unsigned cols);
  // GET /exec/{id}/json (and the record's content). REQUIRES: mu held.
  json exec_inspect_json(const ExecSession& s) const;

  // events
  void emit(const std::string& type, const std::string& action, const std::string& id,
            std::map<std::string, std::string> attrs = {}, const std::string& from = {});
  std::vector<Event> events_since(std::int64_t since_nano, std::uint64_t* cursor);
  std::uint64_t event_cursor();
  // Waits for events after cursor (up to timeout); returns new events.
  std::vector<Event> events_wait(std::uint64_t* cursor, int timeout_ms);

  // ---- volumes of containers (container_volumes.cpp); volume_mu guards volumes() ----
  volume::VolumeService& volumes() { return *volumes_; }
  std::mutex volume_mu;
  // At create: parses Binds/Mounts/VolumesFrom/image VOLUMEs, creates and acquires volumes,
  // writes <data-root>/containers/<id>/mounts.json.
  Status setup_volumes(Container& c, const std::string& image_config_json);
  // HostConfig.StorageOpt (size=): the rw layer is created now, with its limit (as dockerd).
  Status setup_storage_opts(Container& c);
  // At start (rootfs mounted): copy-up, host mounts of volumes with driver opts; the OCI mounts.
  Result<json> start_volumes(Container& c, const std::string& rootfs);
  // When the container stops (or its start failed): unmounts host mounts nobody uses any more.
  void stop_volumes(const Container& c);
  // At remove: releases the volumes; removes the anonymous ones when asked.
  void release_volumes(const Container& c, bool remove_anonymous);
  json mounts_json(const Container& c);  // inspect "Mounts"
  Result<std::vector<MountPoint>> mount_points(const Container& c);  // as persisted at create

  ImageStore& images() { return *images_; }
  // While one lives, there is no spare rootfs (spare_rootfs.cpp): its layer would make its
  // image look in use. Held by image removals.
  class SpareRootfsHold {
   public:
    explicit SpareRootfsHold(Daemon& d);
    ~SpareRootfsHold();
    SpareRootfsHold(const SpareRootfsHold&) = delete;
    SpareRootfsHold& operator=(const SpareRootfsHold&) = delete;

   private:
    Daemon& d_;
  };
  Networking& networking() { return *net_; }  // networking.hpp
  // /networks/{id}/connect|disconnect (routes_networks.cpp)
  Status network_connect(const std::string& network, const std::string& ref, const json& endpoint_config);
  Status network_disconnect(const std::string& network, const std::string& ref, bool force);
  std::mutex mu;
  std::condition_variable cv;  // any container state change
  // the janitor's (with mu): garbage queued, a spare due or expiring, stopping — not every state
  // change, so that its thread is not woken on the way of each start, exit and removal
  std::condition_variable janitor_cv_;
  std::string start_time;

 private:
  Status load_containers();
  void restore(const std::shared_ptr<Container>& c);
  Status save(const Container& c);
  Status start_locked(const std::shared_ptr<Container>& c);
  // A shim running the container (or, create_only, holding it created): what a start does
  // before the container runs. On failure what it set up is undone. REQUIRES: c->op held.
  struct Launched {
    UniqueFd ready;    // create_only: the shim's ready socket (PreparedTask::ready)
    UniqueFd monitor;  // the exit monitor's connection to the shim
    int shim_pid = 0, init_pid = 0;
  };
  Result<Launched> launch(const std::shared_ptr<Container>& c, bool create_only, PhaseLog& plog, int ttl_ms = 0);
  // Starts the prepared container. Errc::Unavailable: it was gone before anything was
  // connected to it (the caller starts the container anew). REQUIRES: c->op held.
  Result<Launched> start_prepared(const std::shared_ptr<Container>& c);
  bool may_prepare(const Container& c);
  void prepare(const std::shared_ptr<Container>& c);  // REQUIRES: c->op held
  PreparedTask take_prepared(Container& c);  // REQUIRES: c.op held, c.prepared set
  void discard_prepared(Container& c, PreparedTask p);
  void on_shim_exit(const std::string& id);
  void monitor_loop();
  void watch_shim(const std::string& id, int shim_pid);
  void watch_fd(const std::string& id, int fd);  // an exit-monitor connection or a pidfd
  Status unmount_rootfs(Container& c);
  Status remove_locked(const std::shared_ptr<Container>& c);
  void remove_garbage(const std::string& id);  // a removed container's layer and directories
  // The garbage queued and the janitor's under way: removed when this returns (image removals:
  // a removed container's layer record would keep its image in use).
  void remove_pending_garbage();
  // The first garbage queued is removed (`lk`, on mu, is let go meanwhile); false when none is.
  bool remove_next_garbage(std::unique_lock<std::mutex>& lk);
  void janitor_loop();
  void collect_garbage();
  Result<Draft> draft_container(json body);
  // The container a draft describes, under id (its Hostname from the id unless given).
  std::shared_ptr<Container> container_of(const Draft& d, const std::string& id);
  // Whether the container of d may be made ahead as the spare container: nothing it depends on
  // may change before its create but through the API, which drops the spare (no bind mounts,
  // volumes, devices, privilege, network or other containers' namespaces).
  static bool speculative(const Draft& d);
  // The spare container's /etc/resolv.conf is still what its create would write now.
  bool spare_etc_current(const Container& c);
  // ---- the spare rootfs and the spare container (spare_rootfs.cpp) ----
  // Mounts a container's rootfs (ImageStore::prepare_rootfs's mounts) at target.
  Status mount_rootfs(const std::vector<image::Mount>& mounts, const std::string& target);
  // What a create of d gets from the spare: nothing (id ""), its rootfs (its id), or the whole
  // container made ahead of its start, when d is what it was made from.
  struct SpareTaken {
    std::string id;
    std::shared_ptr<Container> container;
  };
  SpareTaken take_spare(const Draft& d);
  // The next spare, of the image of the container started last (by the janitor, when due).
  void make_spare_rootfs();
  // The spare container's runtime container, shim, netns go; its rootfs stays (a create on its
  // id waits for the shim's delete: wait_previous_shim). REQUIRES: c.op held or c unshared.
  void release_spare_container(Container& c);
  // The spare container, if any, goes back to a spare rootfs (its TTL is near, or the daemon's
  // configuration changed).
  void expire_spare_container(bool now);
  // Unmounts and removes the spare, if any. REQUIRES: spare_rootfs_mu_ held.
  void drop_spare_rootfs_locked();
  Result<int> container_init_pid(const std::string& ref);

  // ---- exec records (exec_records.cpp; the shim side in exec_io.cpp) ----
  struct ExecWatch {
    std::shared_ptr<ExecSession> s;
    std::string buf;  // frames from the shim
    bool was_running = false;  // the record said so when the watch began (else: created)
  };
  std::string exec_record_dir(const std::string& container_id) const;
  // Writes the record (atomic replace, no fsync: see exec_records.cpp). REQUIRES: mu held.
  void save_exec(const ExecSession& s);
  // The exec ended (or failed to start: 126): off its container's list, recorded. REQUIRES: mu.
  void record_exec_exit(ExecSession& s, int code);
  // record_exec_exit and the exec_die event; takes mu. A second report is ignored.
  void exec_ended(const std::shared_ptr<ExecSession>& s, int code);
  // Its status as the shim recorded it (exec-<tag>.exit), if it has ended.
  std::optional<int> shim_exec_status(const ExecSession& s) const;
  void load_execs();  // at init, after load_containers. REQUIRES: mu held.
  // The container stopped (dockerd's Cleanup): execs that ended meanwhile get their status, the
  // others are forgotten. Returns the (exec id, code) pairs to emit exec_die for. REQUIRES: mu.
  std::vector<std::pair<std::string, int>> execs_container_stopped(Container& c);
  void forget_exec(ExecSession& s);  // REQUIRES: mu held
  void exec_gc();                    // REQUIRES: mu held
  // A restored running exec: asks its shim to report its end (kExecWatch) on the monitor.
  void watch_exec(const std::shared_ptr<ExecSession>& s);  // REQUIRES: mu held
  // Hands a connection to the shim about s (after kExecStarted; pending: what was read after it)
  // to the monitor, which reads its frames until kExit. REQUIRES: mu held.
  void add_exec_watch(const std::shared_ptr<ExecSession>& s, UniqueFd conn, std::string pending);
  // Monitor: handles an event on fd if it is an exec watch (false if not).
  bool on_exec_watch(int fd);
  void schedule_restart(const std::shared_ptr<Container>& c, int delay_ms);

  Config cfg_;
  std::unique_ptr<ImageStore> images_;
  std::unique_ptr<volume::VolumeService> volumes_;
  std::unique_ptr<Networking> net_;
  std::map<std::string, std::shared_ptr<Container>> containers_;
  std::map<std::string, std::shared_ptr<ExecSession>> execs_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<http::Router> router_;
  // events ring
  std::mutex ev_mu_;
  std::condition_variable ev_cv_;
  std::deque<Event> events_;
  std::uint64_t ev_seq_ = 0;  // number of events ever emitted
  // monitor
  UniqueFd epoll_;
  UniqueFd wake_;
  std::map<int, std::string> pidfds_;  // pidfd -> container id (guarded by mu)
  std::map<int, ExecWatch> exec_watches_;  // shim connection -> watched exec (guarded by mu)
  std::thread monitor_;
  std::thread janitor_;
  std::deque<std::string> garbage_;  // removed containers whose files are still there (guarded by mu)
  int garbage_busy_ = 0;  // of garbage_, being removed now (guarded by mu)
  bool stopping_ = false;
  int layers_in_flight_ = 0;  // rw layers being made after create (guarded by mu; shutdown waits)
  std::atomic<int> prepared_n_{0};  // containers holding a PreparedTask
  // A container's rootfs made ahead (spare_rootfs.cpp): a writable layer on image_id mounted
  // at the bundle of id, a container id not used yet. Taken by a create of that image.
  // With a template (the create of the container started last, when speculative() allows),
  // the container of that create is made too, up to its start (a PreparedTask): a create with
  // the same draft takes it whole, its start is one message to its shim.
  struct SpareTemplate {
    std::string container_id;  // the container whose create it is
    Draft d;
  };
  struct SpareRootfs {
    std::string id, image_id;
    std::optional<SpareTemplate> tmpl;    // the draft it is for
    std::shared_ptr<Container> container;  // made from tmpl (its prepared task), or null
  };
  std::timed_mutex spare_rootfs_mu_;  // held while the spare is made, taken or dropped
  std::optional<SpareRootfs> spare_rootfs_;      // guarded by spare_rootfs_mu_
  int spare_rootfs_holds_ = 0;                   // SpareRootfsHolds alive (guarded by spare_rootfs_mu_)
  std::string spare_rootfs_image_;               // of the container started last (guarded by mu)
  std::optional<SpareTemplate> spare_created_;   // the last create's draft (guarded by mu)
  std::optional<SpareTemplate> spare_template_;  // spare_created_, once that container started (mu)
  // false after a spare container was not what the next create asked for: spares are rootfs
  // only until a create matches the template again (guarded by spare_rootfs_mu_)
  bool spare_speculate_ = true;
  std::chrono::steady_clock::time_point spare_expiry_{};  // of the spare container (guarded by mu)
  std::chrono::steady_clock::time_point spare_rootfs_due_{};  // when to make it (guarded by mu)
  std::string shim_path_;
  SpareShim spare_;  // a shim started ahead of the next start (shim_spare.hpp)
  // Starts the cgroup-migration grace period when a container is created or started, so that
  // the runtime's move of its init does not wait for all of it (attach_primer.hpp).
  cgroups::AttachPrimer primer_;
};

void register_routes(Daemon& d, http::Router& r);
void register_stats_routes(Daemon& d, http::Router& r);  // stats.cpp
void register_network_routes(Daemon& d, http::Router& r);  // routes_networks.cpp

}  // namespace berth::daemon
