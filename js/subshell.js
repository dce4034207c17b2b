// Finds this widget's comm in JupyterLab's services and checks that the kernel
// subshell it sends to still exists; if not, moves that one comm (ours, never
// another widget's, never a setting) onto a live route. channel.js says why.
//
// This reaches into @jupyterlab/services' CommHandler (4.4 and later): its
// `subshellId`, `subshellStarted`, `_kernel`, and the private `_subshellId` and
// `_maybeStartSubshell`. Every step is feature-checked: where any is missing
// (Notebook 6, Voila, an older or newer JupyterLab that changed them, kernels
// without subshells) the check answers "none" or "unknown" and changes nothing.

/** How long one kernel round trip of the check may take. */
export const CHECK_TIMEOUT_MS = 5000;

function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The services comm behind an anywidget model, or null when it can't be reached. */
export async function findComm(model) {
  const id = model.get("comm_id");
  const manager = model.widget_manager;
  if (!id || typeof manager?.get_model !== "function") return null;
  try {
    const widgetModel = await manager.get_model(id);
    return widgetModel?.comm?.jsServicesComm ?? null;
  } catch {
    return null;
  }
}

async function liveSubshells(kernel) {
  const reply = await within(kernel.requestListSubshell({}).done, CHECK_TIMEOUT_MS, "list_subshell_request");
  const ids = reply?.content?.subshell_id;
  return Array.isArray(ids) ? ids : null;
}

/**
 * Check the route of this widget's messages; repair it when it leads nowhere.
 * @returns {Promise<"none" | "ok" | "rerouted" | "unknown">}
 *   none: no subshell in use (messages go to the main shell); ok: a live subshell;
 *   rerouted: the subshell was gone (messages sent so far were lost) and the comm
 *   now sends to a live subshell or the main shell; unknown: could not tell.
 */
export async function checkSubshell(model, comm = null) {
  comm = comm ?? (await findComm(model));
  const kernel = comm?._kernel;
  if (!comm || !kernel) return "unknown";
  if (!kernel.supportsSubshells || typeof kernel.requestListSubshell !== "function") return "none";
  // The subshell's id arrives with the kernel's reply to its creation; a deletion
  // that strands us is requested just before that, so asking after it is decisive.
  await within(comm.subshellStarted ?? Promise.resolve(), CHECK_TIMEOUT_MS, "subshell start").catch(() => {});
  const id = comm.subshellId;
  if (!id) return "none";
  const live = await liveSubshells(kernel);
  if (live === null) return "unknown";
  if (live.includes(id)) return "ok";

  console.warn(`semwidget: this widget's kernel subshell ${id} no longer exists (a JupyterLab race); rerouting`);
  comm._subshellId = null; // from now on: the main shell, which always exists
  if (typeof comm._maybeStartSubshell === "function") {
    // Join the live subshell of our comm target (or have a new one made), counted
    // properly, so that closing this widget later releases the right one.
    try {
      await within(comm._maybeStartSubshell(), CHECK_TIMEOUT_MS, "subshell rejoin");
      const now = await liveSubshells(kernel);
      if (comm.subshellId && !(now ?? []).includes(comm.subshellId)) comm._subshellId = null;
    } catch (err) {
      comm._subshellId = null;
      console.warn("semwidget: could not rejoin a subshell; using the main shell", err);
    }
  }
  return "rerouted";
}

/** Whether the kernel behind this comm is running something on its main shell. */
export function kernelBusy(comm) {
  return comm?._kernel?.status === "busy";
}
