# workerd configuration of the example Worker: `workerd serve config.capnp` after bundling
# worker.ts to worker.js (README.md, "Runtimes"). The Worker answers on 127.0.0.1:8787 and pushes
# to RW_URL; `internet` is the Worker's way out, here allowed to loopback addresses, where the
# receiver of this example runs (workerd reaches only public addresses by default).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
  # Buffer, process.env and node:util, which the exporter uses.
  compatibilityFlags = ["nodejs_compat"],
  bindings = [(name = "RW_URL", text = "http://127.0.0.1:9090/api/v1/write")],
);
