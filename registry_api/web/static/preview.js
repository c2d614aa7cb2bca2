// Live preview of a template page: when a parameter changes, POST the form to /api/v1/render (after a
// short pause in typing) and refresh the manifest, the failure-mode table, the lint findings and the
// pipeline graph. The form also works without this script (it submits and the server renders).
(function () {
  "use strict";
  var form = document.getElementById("params");
  if (!form) { return; }
  var DELAY_MS = 250;
  var timer = null;
  var latest = 0;

  function byId(id) { return document.getElementById(id); }

  function parameters() {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.name !== "version" && el.type !== "submit") { values[el.name] = el.value; }
    });
    return values;
  }

  function showErrors(errors) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-error-for]"), function (p) {
      var name = p.getAttribute("data-error-for");
      var input = byId("p-" + name);
      var message = errors[name] || "";
      p.textContent = message;
      p.parentNode.classList.toggle("invalid", Boolean(message));
      if (input) {
        if (message) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
      }
    });
  }

  function cell(row, text, header) {
    var el = document.createElement(header ? "th" : "td");
    if (header) { el.setAttribute("scope", "row"); }
    el.textContent = text;
    row.appendChild(el);
  }

  function list(items) { return items.length ? items.join(", ") : "-"; }

  function showResult(result) {
    byId("manifest").firstChild.textContent = result.files[result.manifest_file];
    byId("dag").innerHTML = result.dag_svg;  // built and escaped by the server
    var body = byId("failure-modes").tBodies[0];
    body.textContent = "";
    result.failure_modes.forEach(function (m) {
      var row = document.createElement("tr");
      cell(row, m.step, true);
      [result.conditions[m.step] || "always", m.stage, m.retries, m.backoff, m.deadline, list(m.side_effects), list(m.idempotency),
       list(m.cleaned_up_by), m.on_failure].forEach(function (text) { cell(row, text, false); });
      body.appendChild(row);
    });
    var summary = byId("matrix-summary");
    var matrix = byId("fault-matrix").tBodies[0];
    matrix.textContent = "";
    summary.textContent = result.fault_matrix ? result.fault_matrix.summary : "";
    summary.className = result.fault_matrix && result.fault_matrix.passed ? "verdict-ok" : "verdict-bad";
    (result.fault_matrix ? result.fault_matrix.scenarios : []).forEach(function (s) {
      var row = document.createElement("tr");
      cell(row, s.scenario, true);
      [s.phase, list(s.orphaned), list(s.duplicated), s.verdict + (s.excused ? ": " + s.excused : "")]
        .forEach(function (text) { cell(row, text, false); });
      matrix.appendChild(row);
    });
    var lint = byId("lint");
    lint.textContent = "";
    var findings = result.lint.findings.length ? result.lint.findings : [null];
    findings.forEach(function (f) {
      var li = document.createElement("li");
      li.textContent = f ? f.file + ":" + f.line + " " + f.rule + " " + f.severity + ": " + f.message : "none";
      lint.appendChild(li);
    });
    byId("preview-status").textContent = result.template + " " + result.version +
      (result.yanked ? " (yanked: " + result.yank_reason + ")" : "") +
      " · lint: " + result.lint.errors + " errors, " + result.lint.warnings + " warnings";
    byId("problem").hidden = true;
    var yanked = byId("yanked-warning");
    yanked.hidden = !result.yanked;
    yanked.textContent = result.yanked ? "Version " + result.version + " is yanked: " + result.yank_reason +
      ". Pick another version unless you need exactly this one." : "";
    showDelivery(result);
  }

  // The download links and the command follow the rendered values; nothing else is sent or kept.
  function showDelivery(result) {
    var query = new URLSearchParams({ template: result.template, version: result.version });
    var values = parameters();
    Object.keys(values).forEach(function (name) { query.append(name, values[name]); });
    byId("download-tgz").href = "/api/v1/render/archive.tar.gz?" + query.toString();
    byId("download-zip").href = "/api/v1/render/archive.zip?" + query.toString();
    byId("new-command").value = result.command;
    byId("deliver").hidden = false;
  }

  var copy = byId("copy-command");
  if (copy) {
    copy.addEventListener("click", function () {
      var command = byId("new-command");
      var done = function () { byId("copy-status").textContent = "copied"; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(command.value).then(done, function () { command.select(); });
      } else {
        command.select();
        document.execCommand("copy");
        done();
      }
    });
  }

  function showProblem(problem) {
    var errors = {};
    (problem.errors || []).forEach(function (e) { if (e.field) { errors[e.field.replace(/^parameters\./, "")] = e.rule; } });
    showErrors(errors);
    var box = byId("problem");
    box.textContent = problem.detail || problem.title || "the preview failed";
    box.hidden = false;
    byId("preview-status").textContent = "preview not updated: fix the parameters marked below";
    byId("deliver").hidden = true;  // the links and command would not match the form
  }

  function refresh() {
    var ticket = ++latest;
    var version = form.elements.version.value || null;
    byId("preview-status").textContent = "rendering…";
    fetch(form.getAttribute("data-render-url"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ template: form.getAttribute("data-template"), version: version, parameters: parameters() })
    }).then(function (response) {
      return response.json().then(function (payload) { return { ok: response.ok, payload: payload }; });
    }).then(function (answer) {
      if (ticket !== latest) { return; }  // a newer request is on its way; drop this answer
      if (answer.ok) { showErrors({}); showResult(answer.payload); } else { showProblem(answer.payload); }
      form.setAttribute("data-rendered", String(ticket));
    }).catch(function (error) {
      if (ticket !== latest) { return; }
      showProblem({ detail: "the registry did not answer: " + error });
    });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, DELAY_MS);
  }

  // "Open a pull request": the token is read from its field at the moment of sending and goes only into
  // the Authorization header of these requests (no storage, no cookie); the job is followed to its result.
  var POLL_MS = 1000;
  var prForm = byId("pr-form");
  function prStatus(text, bad) {
    var status = byId("pr-status");
    status.textContent = text;
    status.className = "status" + (bad ? " status-failed" : "");
    return status;
  }
  function showJob(job) {
    if (job.status === "succeeded") {
      var pull = job.result && job.result.pull_request;
      var status = prStatus("Done: branch " + job.result.branch + (pull ? ", pull request " : " pushed"), false);
      if (pull) {
        var link = document.createElement("a");
        link.href = pull.url; link.id = "pr-link"; link.textContent = "#" + pull.number + " (" + pull.action + ")";
        status.appendChild(link);
      }
      return true;
    }
    if (job.status === "failed") { prStatus("Failed: " + job.error, true); return true; }
    prStatus("Job " + job.id + ": " + job.status + "…", false);
    return false;
  }
  function follow(url, token) {
    fetch(url, { headers: { "Accept": "application/json", "Authorization": "Bearer " + token } })
      .then(function (response) { return response.json(); })
      .then(function (job) { if (!showJob(job)) { window.setTimeout(function () { follow(url, token); }, POLL_MS); } })
      .catch(function (error) { prStatus("the registry did not answer: " + error, true); });
  }
  if (prForm) {
    prForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var token = byId("pr-token").value.trim();
      var body = { template: form.getAttribute("data-template"), version: form.elements.version.value || null,
                   parameters: parameters(), repo: byId("pr-repo").value, path: byId("pr-path").value,
                   base: byId("pr-base").value, provider: byId("pr-provider").value };
      prStatus("sending…", false);
      fetch(prForm.getAttribute("data-url"), {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "Authorization": "Bearer " + token },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().then(function (payload) { return { ok: response.ok, payload: payload }; });
      }).then(function (answer) {
        if (!answer.ok) { prStatus(answer.payload.detail || answer.payload.title || "refused", true); return; }
        if (!showJob(answer.payload)) { follow(prForm.getAttribute("data-url") + "/" + answer.payload.id, token); }
      }).catch(function (error) { prStatus("the registry did not answer: " + error, true); });
    });
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  form.addEventListener("submit", function (event) { event.preventDefault(); window.clearTimeout(timer); refresh(); });
}());
