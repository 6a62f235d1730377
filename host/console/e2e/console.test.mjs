// End-to-end tests of the admin console in a real browser: Debian's chromium, headless, driven
// by playwright-core, against a real `muster serve --demo` started here on a free port with a
// fresh data directory. Every check compares what the console shows with what the documented
// API answers for the same request.
//
// Environment (scripts/console-e2e sets it):
//   MUSTER_BIN                   the muster binary (built with the console embedded)
//   MUSTER_MODULES_DIR           the stock rule modules (scripts/build-policies)
//   CHROMIUM                     the browser (default /usr/bin/chromium)
//   MUSTER_CONSOLE_SCREENSHOTS   where to save screenshots of the main pages (default: none)

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const bin = process.env.MUSTER_BIN;
const modulesDir = process.env.MUSTER_MODULES_DIR;
assert.ok(bin && existsSync(bin), "set MUSTER_BIN to a built muster binary");
assert.ok(modulesDir && existsSync(join(modulesDir, "user_rules.wasm")), "set MUSTER_MODULES_DIR to the built stock modules");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const screenshots = process.env.MUSTER_CONSOLE_SCREENSHOTS;

let work, server, base, adminKey, evalKey, browser, context, page;
const serverLog = [];
const browserProblems = [];
/** Every URL the page navigated to or requested. */
const urls = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function call(method, path, { body, key = adminKey } = {}) {
  const response = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function login(user) {
  const answer = await call("POST", "/v1/tenants/demo/realms/entra/login", { body: user, key: evalKey });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

/** Waits until `check` returns true (the page settles after the API answers). */
async function eventually(check, what, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Saves a screenshot of the whole page, or (`full: false`) of what the window shows. */
async function shot(name, { full = true } = {}) {
  if (!screenshots) return;
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: full });
}

const ADA = {
  provider_user_id: "8f3c2a",
  user_name: "ada@acme.com",
  email: "ada@acme.com",
  display_name: "Ada Lovelace",
  attributes: { department: ["Sales"], title: ["Regional Sales Manager"] },
  provider_groups: ["sales-emea", "all-staff"],
};
const BOB = {
  provider_user_id: "77b1e0",
  user_name: "bob@globex.com",
  email: "bob@globex.com",
  attributes: { department: ["Marketing"] },
  provider_groups: ["marketing"],
};

before(async () => {
  work = mkdtempSync(join(tmpdir(), "muster-console-e2e-"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(
    bin,
    ["serve", "--demo", "--listen", `127.0.0.1:${port}`, "--data-dir", join(work, "data"), "--modules-dir", modulesDir],
    {
      env: {
        ...process.env,
        MUSTER_OPERATOR_TOKEN: "console-e2e-operator",
        // As the Rust suites' servers (tests/support/server.rs): the 1.4 MB js-rules module and
        // its snapshots take seconds of CPU to compile, more on a shared machine.
        MUSTER_ENGINE_COMPILE_TIMEOUT: "60s",
        MUSTER_ENGINE_COMPILE_WAIT: "60s",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  server.stdout.on("data", (chunk) => serverLog.push(String(chunk)));
  server.stderr.on("data", (chunk) => serverLog.push(String(chunk)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`muster exited:\n${serverLog.join("")}`);
    const tokens = join(work, "data", "demo-admin-token");
    const healthy = existsSync(tokens) && (await fetch(`${base}/healthz`).then((r) => r.ok, () => false));
    if (healthy) break;
    if (Date.now() > deadline) throw new Error(`muster did not start:\n${serverLog.join("")}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  adminKey = readFileSync(join(work, "data", "demo-admin-token"), "utf8").trim();
  evalKey = readFileSync(join(work, "data", "demo-eval-token"), "utf8").trim();
  await login(ADA);
  const blocked = await call("POST", "/v1/tenants/demo/realms/entra/login", { body: BOB, key: evalKey });
  assert.equal(blocked.body.blocked, true, "the demo rules block Bob");

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    // launch() gives the browser a fresh, temporary profile of its own every run.
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") browserProblems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => browserProblems.push(`page error: ${error.message}`));
  page.on("framenavigated", (frame) => urls.push(frame.url()));
  page.on("request", (request) => urls.push(request.url()));
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((resolve) => server.once("exit", resolve));
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Errors the API answers are shown, so "console error" lines for 4xx requests are expected. */
function unexpectedProblems() {
  return browserProblems.filter((problem) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(problem));
}

test("the console is served with a strict Content-Security-Policy and loads nothing from elsewhere", async () => {
  const response = await fetch(`${base}/console`);
  assert.equal(response.status, 200);
  const policy = response.headers.get("content-security-policy");
  assert.match(policy, /default-src 'self'/);
  assert.match(policy, /script-src 'self'/);
  assert.doesNotMatch(policy, /unsafe/);
  const html = await response.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script in the page");
  assert.doesNotMatch(html, /https?:\/\//, "nothing from another origin");
});

test("a wrong key is refused with the API's message; the right one signs in", async () => {
  await page.goto(`${base}/console/`);
  await page.getByLabel("Tenant id").fill("demo");
  await page.getByLabel("Admin key").fill("mk_wrong_key");
  await page.getByRole("button", { name: "Sign in" }).click();
  const expected = await call("GET", "/v1/tenants/demo", { key: "mk_wrong_key" });
  assert.equal(expected.status, 401);
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.equal(await alert.locator(".error-message").textContent(), expected.body.error.message);
  await shot("sign-in-error");

  // The evaluation key is a real key, but not an admin key: the API's 403 message.
  await page.getByLabel("Admin key").fill(evalKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  const forbidden = await call("GET", "/v1/tenants/demo", { key: evalKey });
  assert.equal(forbidden.status, 403);
  await page.getByText(forbidden.body.error.message).waitFor();

  // Signing in with the keyboard alone.
  await page.getByLabel("Admin key").fill("");
  await page.getByLabel("Tenant id").focus();
  await page.keyboard.press("Tab");
  await page.keyboard.type(adminKey);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Realms of demo" }).waitFor();
});

test("the overview shows the realm's versions, organizations with their users, and recent decisions", async () => {
  await page.getByRole("link", { name: /Entra ID|entra/ }).first().click();
  await page.getByRole("heading", { level: 1, name: /overview/ }).waitFor();
  const realm = (await call("GET", "/v1/tenants/demo/realms/entra")).body;
  assert.equal(await page.getByTestId("active-user").textContent(), `version ${realm.user_rules_version}`);
  assert.equal(await page.getByTestId("active-group").textContent(), `version ${realm.group_rules_version}`);
  // Each kind's card lists its newest versions (the Rules page's table), the active one marked.
  for (const kind of ["user", "group"]) {
    const listed = (await call("GET", `/v1/tenants/demo/realms/entra/modules/${kind}/versions`)).body;
    const card = page.getByTestId(`module-${kind}`);
    await card.locator("tr[data-version]").first().waitFor();
    const shown = await card.locator("tr[data-version]").evaluateAll((rows) => rows.map((row) => Number(row.dataset.version)));
    const newest = listed.versions.map((v) => v.version).reverse().slice(0, 3);
    assert.deepEqual(shown, newest);
    assert.match(await card.locator(`tr[data-version="${listed.active}"]`).innerText(), /active/);
  }

  const organizations = page.getByTestId("organizations");
  // The blocked row appears once the user counts (the organization report) are in.
  await organizations.getByText("No organization (blocked)").waitFor();
  const rows = await organizations.locator("tbody tr").allInnerTexts();
  const sales = rows.find((row) => row.startsWith("acme-sales"));
  assert.ok(sales, `acme-sales listed: ${rows}`);
  assert.match(sales, /\t1$/, "Ada is acme-sales' one active user");
  assert.ok(rows.some((row) => /No organization \(blocked\)\t1$/.test(row)), `Bob is counted as blocked: ${rows}`);

  const decisions = page.getByTestId("decision-table").last();
  await decisions.locator("tbody tr").first().waitFor();
  const text = await decisions.innerText();
  assert.match(text, /ada@acme\.com/);
  assert.match(text, /bob@globex\.com/);
  assert.match(text, /blocked/);
  await shot("overview");
});

test("the test panel's trace tree says what the API's dry run says, step by step", async () => {
  await page.getByRole("link", { name: "Test panel" }).click();
  await page.getByRole("heading", { level: 1, name: "Test panel" }).waitFor();
  await page.getByLabel("Search users by name").fill("ada");
  // The matches are the users API's for the same search (the first 20).
  const matches = (await call("GET", "/v1/tenants/demo/realms/entra/users?search=ada&limit=20")).body.users;
  assert.deepEqual(matches.map((user) => user.user_name), ["ada@acme.com"]);
  const select = page.getByLabel(/Stored user/);
  const optionIds = () => select.locator("option").evaluateAll((options) => options.map((option) => option.value));
  await eventually(async () => JSON.stringify(await optionIds()) === JSON.stringify(matches.map((user) => user.id)), "the API's matches");
  const userId = matches[0].id;
  await select.selectOption(userId);
  assert.equal(await page.getByLabel("User id", { exact: true }).inputValue(), userId, "picking a match fills the id");
  await page.getByTestId("chosen-user").filter({ hasText: "The rules will run on ada@acme.com (active, now in acme-sales)." }).waitFor();
  await page.getByRole("button", { name: "Run" }).click();
  await page.getByTestId("dry-run-result").waitFor();

  const api = (await call("POST", `/v1/tenants/demo/realms/entra/users/${userId}/dry-run`, { body: {} })).body;
  const trees = page.getByTestId("trace");
  const userTree = trees.nth(0);
  const groupTree = trees.nth(1);

  // Each step: "<outcome> <check>", in the API's order.
  const expectedSteps = (trace) => trace.map((step) => `${step.outcome.replace("_", " ")} ${step.check}`);
  const shownSteps = async (tree) =>
    (await tree.getByTestId("trace-step").evaluateAll((items) =>
      items.map((item) => `${item.querySelector(".trace-outcome").textContent} ${item.querySelector(".trace-check").textContent}`),
    ));
  assert.ok(api.evaluation.user.trace.length > 0, "the demo rules trace their checks");
  assert.deepEqual(await shownSteps(userTree), expectedSteps(api.evaluation.user.trace));
  assert.deepEqual(await shownSteps(groupTree), expectedSteps(api.evaluation.groups.trace));

  // The branches are the rules in the order the module evaluated them.
  const rulesInOrder = [];
  for (const step of api.evaluation.user.trace) {
    const name = step.rule ?? "Decision notes";
    if (rulesInOrder[rulesInOrder.length - 1] !== name) rulesInOrder.push(name);
  }
  const branchNames = await userTree
    .getByTestId("trace-rule")
    .evaluateAll((items) => items.map((item) => item.querySelector(".trace-rule-name").textContent));
  assert.deepEqual(branchNames, rulesInOrder);
  assert.ok(rulesInOrder.includes("sales"));

  // The decision closes the tree; fuel and time are the API's.
  assert.equal(await userTree.getByTestId("decision-organization").textContent(), api.evaluation.user.organization);
  assert.equal(api.evaluation.user.organization, "acme-sales");
  const verdict = await page.getByTestId("dry-run-verdict").textContent();
  assert.match(verdict, /acme-sales/);
  assert.match(verdict, / fuel · [\d,]+ µs/);
  await shot("test-panel");

  // A user typed here: the ad-hoc dry run, blocked.
  await page.getByLabel("A user typed here").check();
  await page.getByLabel("User name").fill("eve@elsewhere.org");
  await page.getByLabel("E-mail").fill("eve@elsewhere.org");
  await page.getByLabel(/Attributes/).fill("department: Legal");
  await page.getByLabel(/Provider groups/).fill("");
  await page.getByRole("button", { name: "Run" }).click();
  await page.getByText("Blocked: no organization").waitFor();
});

test("a refused upload shows the API's message; an upload is stored, activated after confirmation", async () => {
  await page.getByRole("link", { name: "Rules" }).click();
  await page.getByRole("heading", { level: 1, name: "Rules: user rules" }).waitFor();
  const before = (await call("GET", "/v1/tenants/demo/realms/entra/modules/user/versions")).body;
  await page.getByTestId("versions").waitFor();
  assert.equal(await page.getByTestId("versions").locator("tbody tr").count(), before.versions.length);
  const activeRow = page.locator(`tr[data-version="${before.active}"]`);
  assert.match(await activeRow.innerText(), /active/);
  assert.match(await activeRow.innerText(), new RegExp(before.versions.find((v) => v.version === before.active).digest.slice(0, 12)));

  const wasmPath = join(modulesDir, "user_rules.wasm");
  await page.getByLabel("Module (.wasm)").setInputFiles(wasmPath);

  // Settings the module refuses: the API's 422 message, word for word.
  const refused = { rules: [{ name: "", organization: "acme", when: { email_domain: { equals: "acme.com" } } }] };
  await page.getByLabel("Settings (JSON)").fill(JSON.stringify(refused));
  await page.getByRole("button", { name: "Upload" }).click();
  const apiRefusal = await call("POST", "/v1/tenants/demo/realms/entra/modules/user", {
    body: { wasm: readFileSync(wasmPath).toString("base64"), settings: refused },
  });
  assert.equal(apiRefusal.status, 422);
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.equal(await alert.locator(".error-message").textContent(), apiRefusal.body.error.message);

  // Engineers who are contractors go to acme: a new first rule.
  const settings = JSON.parse(readFileSync(new URL("../../../docs/demo/user-rules.json", import.meta.url), "utf8"));
  settings.rules.unshift({
    name: "contractors",
    organization: "acme",
    when: { attribute: { name: "employment", equals: "contractor" } },
  });
  await page.getByLabel("Settings (JSON)").fill(JSON.stringify(settings, null, 2));
  await page.getByLabel("Note (what changed)").fill("contractors go to acme");
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByTestId("uploaded").waitFor();
  const afterUpload = (await call("GET", "/v1/tenants/demo/realms/entra/modules/user/versions")).body;
  const uploaded = afterUpload.versions[afterUpload.versions.length - 1];
  assert.equal(uploaded.note, "contractors go to acme");
  assert.deepEqual(uploaded.settings, settings);
  assert.equal(afterUpload.active, before.active, "an upload does not activate");
  await page.locator(`tr[data-version="${uploaded.version}"]`).waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot("rules", { full: false });

  // Activate: the dialog says what changes; cancelling changes nothing.
  await page.locator(`tr[data-version="${uploaded.version}"]`).getByRole("button", { name: "Activate…" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  const said = await dialog.innerText();
  assert.match(said, new RegExp(`version ${uploaded.version}`));
  assert.match(said, new RegExp(`instead of version ${before.active}`));
  assert.match(said, /contractors go to acme/);
  await shot("rules-activate", { full: false });
  await dialog.getByRole("button", { name: "Cancel" }).click();
  assert.equal((await call("GET", "/v1/tenants/demo/realms/entra/modules/user/versions")).body.active, before.active);

  await page.locator(`tr[data-version="${uploaded.version}"]`).getByRole("button", { name: "Activate…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: `Activate version ${uploaded.version}` }).click();
  await page.getByRole("status").filter({ hasText: `Version ${uploaded.version} of the user rules is active now` }).waitFor();
  assert.equal((await call("GET", "/v1/tenants/demo/realms/entra/modules/user/versions")).body.active, uploaded.version);
  // The table reloads after the answer: the badge moves to the new version.
  await page.locator(`tr[data-version="${uploaded.version}"] .badge`, { hasText: "active" }).waitFor();
});

/** A field of the settings form by its path in the document (the API's notation). */
function field(path) {
  return page.locator(`.editor-form [data-path="${path}"]`);
}
function input(path) {
  return field(path).locator("input, textarea").first();
}
/** The first select of a condition block (its kind) or of a test (its test). */
function select(path) {
  return field(path).locator("select").first();
}
async function jsonView() {
  return JSON.parse(await page.getByLabel("Settings (JSON)").inputValue());
}

test("the rule editor builds a rule, the JSON view follows it both ways, and the upload stores that document", async () => {
  await page.getByRole("heading", { level: 1, name: "Rules: user rules" }).waitFor();
  const listed = (await call("GET", "/v1/tenants/demo/realms/entra/modules/user/versions")).body;
  const active = listed.versions.find((v) => v.version === listed.active);
  await page.getByLabel("Start from the settings of").selectOption(String(active.version));
  await page.getByTestId("user-rules-form").waitFor();
  assert.match(await page.getByTestId("editor-mode").innerText(), /stock user-rules module/);
  assert.deepEqual(await jsonView(), active.settings);

  // The form shows the active rules, in order.
  const original = active.settings;
  const rules = page.getByTestId("user-rules-form").locator('[data-testid="rule"]');
  assert.equal(await rules.count(), original.rules.length);
  for (const [i, rule] of original.rules.entries()) {
    assert.equal(await input(`rules[${i}].name`).inputValue(), rule.name);
    assert.equal(await input(`rules[${i}].organization`).inputValue(), rule.organization);
  }

  // A new rule: e-mail domain in [partner.example, partners.example] and not provider group contractors.
  const n = original.rules.length;
  await page.getByRole("button", { name: "Add rule" }).click();
  await input(`rules[${n}].name`).fill("partners");
  await input(`rules[${n}].organization`).fill("acme");
  await select(`rules[${n}].when`).selectOption("all");
  await select(`rules[${n}].when.all[0]`).selectOption("email_domain");
  await select(`rules[${n}].when.all[0].email_domain`).selectOption("in");
  await input(`rules[${n}].when.all[0].email_domain.in`).fill("partner.example\npartners.example");
  await field(`rules[${n}].when.all`).locator(":scope > button", { hasText: "Add condition" }).click();
  await select(`rules[${n}].when.all[1]`).selectOption("not");
  await select(`rules[${n}].when.all[1].not`).selectOption("provider_group");
  await input(`rules[${n}].when.all[1].not.provider_group.equals`).fill("contractors");
  // … placed before the last rule.
  await page.getByRole("button", { name: `Move rule ${n + 1} up` }).click();
  const partners = {
    name: "partners",
    organization: "acme",
    when: {
      all: [{ email_domain: { in: ["partner.example", "partners.example"] } }, { not: { provider_group: { equals: "contractors" } } }],
    },
  };
  const expected = { ...original, rules: [...original.rules.slice(0, n - 1), partners, original.rules[n - 1]] };
  assert.deepEqual(await jsonView(), expected);
  assert.equal(await input(`rules[${n - 1}].name`).inputValue(), "partners");

  // Editing the JSON updates the form; JSON that does not parse is shown, not thrown.
  expected.rules[n - 1].organization = "acme-sales";
  const text = JSON.stringify(expected, null, 2);
  await page.getByLabel("Settings (JSON)").fill(text);
  assert.equal(await input(`rules[${n - 1}].organization`).inputValue(), "acme-sales");
  await page.getByLabel("Settings (JSON)").fill(text.slice(0, -2));
  await page.getByTestId("json-error").waitFor();
  assert.match(await page.getByTestId("json-error").innerText(), /^Not JSON: /);
  assert.equal(await input(`rules[${n - 1}].organization`).inputValue(), "acme-sales", "the form keeps the last document");
  await page.getByLabel("Settings (JSON)").fill(text);
  assert.equal(await page.getByTestId("json-error").count(), 0);

  // A refusal deep in a condition: the API's path marks that field, with the API's words.
  const wasmPath = join(modulesDir, "user_rules.wasm");
  await page.getByLabel("Module (.wasm)").setInputFiles(wasmPath);
  await input(`rules[${n - 1}].when.all[0].email_domain.in`).fill("partner.example\nPartners.example");
  const refusedSettings = await jsonView();
  await page.getByRole("button", { name: "Upload" }).click();
  const refusal = await call("POST", "/v1/tenants/demo/realms/entra/modules/user", {
    body: { wasm: readFileSync(wasmPath).toString("base64"), settings: refusedSettings },
  });
  assert.equal(refusal.status, 422);
  assert.equal(refusal.body.error.path, `rules[${n - 1}].when.all[0].email_domain.in[1]`);
  const marked = field(`rules[${n - 1}].when.all[0].email_domain.in`);
  await page.locator(".editor-form .invalid").first().waitFor();
  assert.equal(await page.locator(".editor-form .invalid").count(), 1, "one field is marked");
  assert.match(await marked.getAttribute("class"), /\binvalid\b/);
  assert.equal(await marked.locator("textarea").getAttribute("aria-invalid"), "true");
  assert.equal(
    await marked.getByTestId("field-error").innerText(),
    refusal.body.error.message.replace(`settings refused at ${refusal.body.error.path}: `, ""),
  );
  assert.equal(await page.getByRole("alert").locator(".error-message").textContent(), refusal.body.error.message);
  await shot("rules-editor-refused", { full: false });

  // Fixed in the form, the mark goes; the upload stores exactly the document the form made.
  await input(`rules[${n - 1}].when.all[0].email_domain.in`).fill("partner.example\npartners.example");
  assert.equal(await page.locator(".editor-form .invalid").count(), 0);
  await page.getByLabel("Note (what changed)").fill("partners go to acme-sales");
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByTestId("uploaded").waitFor();
  const after = (await call("GET", "/v1/tenants/demo/realms/entra/modules/user/versions")).body;
  const stored = after.versions[after.versions.length - 1];
  assert.equal(stored.note, "partners go to acme-sales");
  assert.deepEqual(stored.settings, expected);
  assert.equal(after.active, listed.active, "an upload does not activate");
  await page.locator(`[data-testid="versions"] tr[data-version="${stored.version}"]`).waitFor();
  await field(`rules[${n - 1}]`).evaluate((rule) => rule.scrollIntoView({ block: "start" }));
  await shot("rules-editor", { full: false });
});

test("the group-rules editor edits the regex mappings; unknown organizations are marked where they are named", async () => {
  await page.getByRole("link", { name: "Group rules" }).click();
  await page.getByRole("heading", { level: 1, name: "Rules: group rules" }).waitFor();
  const listed = (await call("GET", "/v1/tenants/demo/realms/entra/modules/group/versions")).body;
  const active = listed.versions.find((v) => v.version === listed.active);
  await page.getByTestId("group-rules-form").waitFor();
  assert.deepEqual(await jsonView(), active.settings);
  assert.equal(await input("rules[0].pattern").inputValue(), active.settings.rules[0].pattern);
  assert.equal(await input("fallback").inputValue(), active.settings.fallback.join("\n"));

  const n = active.settings.rules.length;
  await page.getByRole("button", { name: "Add rule" }).click();
  await input(`rules[${n}].name`).fill("partners");
  await input(`rules[${n}].pattern`).fill("^partner-");
  await input(`rules[${n}].organizations`).fill("acme-partners");
  const wasmPath = join(modulesDir, "group_rules.wasm");
  await page.getByLabel("Module (.wasm)").setInputFiles(wasmPath);
  await page.getByRole("button", { name: "Upload" }).click();
  const marked = field(`rules[${n}].organizations`);
  await marked.getByTestId("field-error").waitFor();
  assert.match(await marked.getByTestId("field-error").innerText(), /acme-partners/);
  const refusal = await call("POST", "/v1/tenants/demo/realms/entra/modules/group", {
    body: { wasm: readFileSync(wasmPath).toString("base64"), settings: await jsonView() },
  });
  assert.equal(refusal.status, 422);
  assert.deepEqual(refusal.body.error.unknown_organizations, [{ organization: "acme-partners", path: `rules[${n}].organizations[0]` }]);

  await input(`rules[${n}].organizations`).fill("acme\nacme-sales");
  await page.getByRole("button", { name: `Move rule ${n + 1} up` }).click();
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByTestId("uploaded").waitFor();
  const after = (await call("GET", "/v1/tenants/demo/realms/entra/modules/group/versions")).body;
  const expected = {
    ...active.settings,
    rules: [{ name: "partners", pattern: "^partner-", organizations: ["acme", "acme-sales"] }, ...active.settings.rules],
  };
  assert.deepEqual(after.versions[after.versions.length - 1].settings, expected);
});

test("a module that is not a stock one gets the JSON view alone", async () => {
  const contractors = {
    employee_domains: ["acme.com"],
    contractor_domains: ["partners.acme.io"],
    employees: "acme",
    contractors: "acme",
  };
  const uploaded = await call("POST", "/v1/tenants/demo/realms/entra/modules/user", {
    body: { wasm: readFileSync(join(modulesDir, "contractors.wasm")).toString("base64"), settings: contractors, note: "contractors module" },
  });
  assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
  assert.ok(uploaded.body.settings_schema, "the contractors module publishes a schema");
  await page.getByRole("link", { name: "User rules" }).click();
  await page.getByRole("heading", { level: 1, name: "Rules: user rules" }).waitFor();
  await page.locator(`[data-testid="versions"] tr[data-version="${uploaded.body.version}"]`).waitFor();
  await page.getByLabel("Start from the settings of").selectOption(String(uploaded.body.version));
  assert.match(await page.getByTestId("editor-mode").innerText(), /not a stock module/);
  assert.equal(await page.locator(".editor-form").count(), 0);
  assert.deepEqual(await jsonView(), contractors);
  // An empty document for the active (stock) module: the form, with no rule yet.
  await page.getByLabel("Start from the settings of").selectOption("empty");
  await page.getByTestId("user-rules-form").waitFor();
  assert.deepEqual(await jsonView(), { rules: [] });
  assert.equal(await page.getByTestId("user-rules-form").locator('[data-testid="rule"]').count(), 0);
  await page.getByRole("button", { name: "Add rule" }).click();
  assert.deepEqual(await jsonView(), { rules: [{ name: "rule 1", organization: "", when: { attribute: { name: "", equals: "" } } }] });
  // Back to a stock version: its settings in the form again.
  await page.getByLabel("Start from the settings of").selectOption(String(uploaded.body.version - 1));
  await page.getByTestId("user-rules-form").waitFor();
  assert.equal((await jsonView()).rules.length, (await call("GET", `/v1/tenants/demo/realms/entra/modules/user/versions/${uploaded.body.version - 1}`)).body.settings.rules.length);
});

test("two versions' settings side by side: the changed line is marked on both sides", async () => {
  // A version that differs from the newest stock one in one line: acme staff go to acme-sales.
  const listed = (await call("GET", "/v1/tenants/demo/realms/entra/modules/user/versions")).body;
  const stock = listed.versions.filter((v) => v.note === "partners go to acme-sales").pop();
  const settings = structuredClone(stock.settings);
  const staff = settings.rules.find((rule) => rule.name === "acme staff");
  assert.equal(staff.organization, "acme");
  staff.organization = "acme-sales";
  const changed = await call("POST", "/v1/tenants/demo/realms/entra/modules/user", {
    body: { wasm: readFileSync(join(modulesDir, "user_rules.wasm")).toString("base64"), settings, note: "acme staff to acme-sales" },
  });
  assert.equal(changed.status, 201, JSON.stringify(changed.body));

  await page.getByRole("link", { name: "Group rules" }).click();
  await page.getByRole("heading", { level: 1, name: "Rules: group rules" }).waitFor();
  await page.getByRole("link", { name: "User rules" }).click();
  await page.getByRole("heading", { level: 1, name: "Rules: user rules" }).waitFor();
  const versions = page.getByTestId("versions");
  await versions.locator(`tr[data-version="${changed.body.version}"]`).waitFor();
  await versions.getByLabel(`Compare version ${changed.body.version}`).check();
  assert.equal(await page.getByTestId("settings-diff").count(), 0, "one version is not a comparison");
  await versions.getByLabel(`Compare version ${stock.version}`).check();
  const diff = page.getByTestId("settings-diff");
  await diff.waitFor();
  assert.match(await diff.getByRole("heading").innerText(), new RegExp(`version ${stock.version} → version ${changed.body.version}`));

  // Exactly one line differs, paired on one row: removed on the left, added on the right.
  const removed = await diff.locator('td[data-change="removed"] .diff-text').allInnerTexts();
  const added = await diff.locator('td[data-change="added"] .diff-text').allInnerTexts();
  assert.deepEqual(removed.map((line) => line.trim()), ['"organization": "acme",']);
  assert.deepEqual(added.map((line) => line.trim()), ['"organization": "acme-sales",']);
  const row = diff.locator("tr.diff-changed");
  assert.equal(await row.count(), 1);
  const numbers = await row.locator(".diff-number").allInnerTexts();
  const oldLines = JSON.stringify(stock.settings, null, 2).split("\n");
  const at = oldLines.findIndex((line, i) => line.trim() === '"organization": "acme",' && oldLines[i - 1].includes('"acme staff"'));
  assert.deepEqual(numbers, [String(at + 1), String(at + 1)], "the changed line's number on both sides");
  assert.match(await page.getByTestId("diff-summary").innerText(), /1 line removed, 1 line added\. Same module\./);
  // Three unchanged lines on each side of the change; the rest folded, and unfolded on request.
  const shownNumbers = await diff.locator("tbody tr:not(.diff-fold) td.diff-number:first-child").allInnerTexts();
  assert.deepEqual(shownNumbers.map(Number), [at - 2, at - 1, at, at + 1, at + 2, at + 3, at + 4]);
  const folds = await diff.locator("tr.diff-fold").allInnerTexts();
  assert.deepEqual(folds.map((text) => text.trim()), [`⋯ ${at - 3} unchanged lines`, `⋯ ${oldLines.length - at - 4} unchanged lines`]);
  await diff.getByRole("button", { name: `⋯ ${at - 3} unchanged lines` }).click();
  assert.equal(await diff.locator("tr.diff-fold").count(), 1);
  await diff.getByRole("button", { name: "Show all lines" }).click();
  const unchanged = await diff.locator('td[data-change="same"]').count();
  assert.equal(unchanged, 2 * (oldLines.length - 1), "every other line is unchanged, on both sides");
  await diff.getByRole("button", { name: "Fold unchanged lines" }).click();
  assert.equal(await diff.locator("tr.diff-fold").count(), 2, "folded again, all of them");
  await diff.evaluate((element) => element.scrollIntoView({ block: "start" }));
  await shot("rules-diff", { full: false });

  // A third tick replaces the first one ticked; Close clears them.
  await versions.getByLabel(`Compare version ${stock.version - 1}`).check();
  assert.equal(await versions.getByLabel(`Compare version ${changed.body.version}`).isChecked(), false);
  assert.match(await diff.getByRole("heading").innerText(), new RegExp(`version ${stock.version - 1} → version ${stock.version}`));
  await diff.getByRole("button", { name: "Close" }).click();
  assert.equal(await page.getByTestId("settings-diff").count(), 0);
  assert.equal(await versions.locator('input[type="checkbox"]:checked').count(), 0);
});

test("a login through the API appears in the decisions, and its replay is identical", async () => {
  const carol = await login({
    provider_user_id: "c4r01",
    user_name: "carol@acme.com",
    email: "carol@acme.com",
    attributes: { department: ["Engineering"], employment: ["contractor"] },
    provider_groups: ["engineers"],
  });
  assert.equal(carol.organization, "acme", "the newly active version decided");

  await page.getByRole("link", { name: "Decisions" }).click();
  await page.getByRole("heading", { level: 1, name: "Decisions" }).waitFor();
  await page.getByLabel("Trigger").selectOption("login");
  await page.getByLabel("User id").fill(carol.user_id);
  await page.getByRole("button", { name: "Apply filters" }).click();
  const row = page.locator(`tr[data-decision-id="${carol.decision_id}"]`);
  const rows = page.getByTestId("decision-table").locator("tbody tr");
  await eventually(async () => (await rows.count()) === 1 && (await row.count()) === 1, "the filter to keep Carol's one login");
  assert.match(await row.innerText(), /carol@acme\.com/);
  assert.match(await row.innerText(), /acme/);
  await shot("decisions");

  await row.getByRole("link").click();
  await page.getByTestId("decision-facts").waitFor();
  const record = (await call("GET", `/v1/tenants/demo/decisions/${carol.decision_id}`)).body;
  const facts = await page.getByTestId("decision-facts").innerText();
  assert.match(facts, /carol@acme\.com/);
  assert.match(facts, new RegExp(`user rules ${record.user_rules_version} ${record.user_rules_digest.slice(0, 12)}`));
  const steps = await page.getByTestId("trace").first().getByTestId("trace-step").count();
  assert.equal(steps, record.trace.user.length);

  await page.getByRole("button", { name: "Replay" }).click();
  const verdict = page.getByTestId("replay-verdict");
  await verdict.waitFor();
  const replay = (await call("POST", `/v1/tenants/demo/decisions/${carol.decision_id}/replay`, { body: {} })).body;
  assert.equal(replay.identical, true);
  assert.match(await verdict.textContent(), /^Identical/);
  await shot("decision");

  // On the version before: a different output, shown side by side.
  await page.getByLabel(/User-rules version \(empty/).fill("1");
  await page.getByRole("button", { name: "Replay" }).click();
  await page.getByTestId("replay-verdict").filter({ hasText: "Different output" }).waitFor();
  assert.match(await page.getByTestId("replay-result").innerText(), /acme-engineering/);
});

test("shadow: set after a confirmation, its differing decisions on the Shadow page, cleared after a confirmation", async () => {
  const listed = (await call("GET", "/v1/tenants/demo/realms/entra/modules/user/versions")).body;
  // The version whose acme staff go to acme-sales: a user of acme.com no other rule takes differs.
  const candidate = listed.versions.filter((v) => v.note === "acme staff to acme-sales").pop();
  assert.ok(candidate && candidate.version !== listed.active);
  await page.getByRole("link", { name: "Rules", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Rules: user rules" }).waitFor();
  const row = page.locator(`[data-testid="versions"] tr[data-version="${candidate.version}"]`);
  await row.getByRole("button", { name: "Shadow…" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  const said = await dialog.innerText();
  assert.match(said, new RegExp(`also runs user rules version ${candidate.version}`));
  assert.match(said, new RegExp(`beside the active version ${listed.active}`));
  assert.match(said, /never applied/);
  await shot("rules-shadow", { full: false });
  await dialog.getByRole("button", { name: "Cancel" }).click();
  assert.equal((await call("GET", "/v1/tenants/demo/realms/entra")).body.shadow_user_rules_version, null, "cancel changes nothing");

  await row.getByRole("button", { name: "Shadow…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: `Run version ${candidate.version} in shadow` }).click();
  await page.getByRole("status").filter({ hasText: `Version ${candidate.version} of the user rules runs in shadow now.` }).waitFor();
  assert.equal((await call("GET", "/v1/tenants/demo/realms/entra")).body.shadow_user_rules_version, candidate.version);
  await row.locator(".badge", { hasText: "shadow" }).waitFor();
  assert.equal(await row.getByRole("button", { name: "Stop shadow…" }).count(), 1);

  // A live login: the active version decides acme, the shadow version acme-sales.
  const dave = await login({ provider_user_id: "d4v3", user_name: "dave@acme.com", email: "dave@acme.com", attributes: {}, provider_groups: [] });
  assert.equal(dave.organization, "acme");
  let differing;
  await eventually(async () => {
    differing = (await call("GET", `/v1/tenants/demo/decisions?realm=entra&shadow=true&differs=true`)).body.decisions;
    return differing.some((decision) => decision.shadow_of === dave.decision_id);
  }, "the shadow decision of Dave's login");
  const shadowDecision = differing.find((decision) => decision.shadow_of === dave.decision_id);
  assert.equal(shadowDecision.output.user.organization, "acme-sales");
  const summary = (await call("GET", "/v1/tenants/demo/realms/entra/shadow")).body;

  await page.getByRole("link", { name: "Shadow", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Shadow" }).waitFor();
  await page.getByTestId("shadow-user").waitFor();
  assert.match(await page.getByTestId("shadow-user").innerText(), new RegExp(`^version ${candidate.version}`));
  assert.match(await page.getByTestId("shadow-group").innerText(), /^none/);
  const results = page.getByTestId("shadow-results");
  await results.waitFor();
  const shown = await results.locator("tbody tr").allInnerTexts();
  assert.deepEqual(
    shown.map((line) => line.split("\t").slice(0, 5).join(" ")),
    summary.results.map((r) => `version ${r.user_rules_version} version ${r.group_rules_version} ${r.evaluated} ${r.differing} ${r.failed}`),
  );
  assert.ok(summary.results.some((r) => r.user_rules_version === candidate.version && r.differing >= 1));

  // Per pair, a chart of the days the API counts: each day's evaluations, differing and failed.
  const charts = page.getByTestId("shadow-days");
  await charts.waitFor();
  for (const result of summary.results) {
    assert.ok(result.days.length >= 1, "the API counts the pair's days");
    const pair = charts.locator(`[data-pair="${result.user_rules_version ?? "none"}/${result.group_rules_version ?? "none"}"]`);
    const drawn = await pair.getByTestId("shadow-day-chart").locator("g[data-day]").evaluateAll((groups) =>
      groups.map((g) => ({ day: g.dataset.day, evaluated: Number(g.dataset.evaluated), differing: Number(g.dataset.differing), failed: Number(g.dataset.failed) })),
    );
    assert.deepEqual(drawn.filter((day) => day.evaluated > 0), result.days);
    // Every day up to the last the API counts, one after another, a week at least.
    assert.equal(drawn[drawn.length - 1].day, result.days[result.days.length - 1].day);
    assert.ok(drawn.length >= 7 && drawn[0].day <= result.days[0].day);
    const dayAfter = (day) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    drawn.slice(1).forEach((day, i) => assert.equal(day.day, dayAfter(drawn[i].day)));
    // The bars are as tall as the counts: an evaluation day has a column, a day without none.
    const heights = await pair.locator(`g[data-day="${result.days[0].day}"] rect`).evaluateAll((rects) => rects.map((r) => Number(r.getAttribute("height"))));
    assert.equal(heights[0] > 0, result.days[0].evaluated > 0);
    assert.equal(heights[1] > 0, result.days[0].differing > 0);
  }

  const table = page.getByTestId("shadow-differing").getByTestId("decision-table");
  const listedRow = table.locator(`tr[data-decision-id="${shadowDecision.id}"]`);
  await listedRow.waitFor();
  assert.equal(await table.locator("tbody tr").count(), differing.length);
  assert.match(await listedRow.innerText(), /dave@acme\.com/);
  assert.match(await listedRow.innerText(), /acme-sales/);
  assert.match(await listedRow.innerText(), /differs/);
  await shot("shadow");
  await listedRow.getByRole("link").click();
  await page.getByTestId("decision-facts").waitFor();
  assert.match(await page.getByTestId("decision-facts").innerText(), /shadow of the live decision/);
  assert.equal(
    await page.getByRole("link", { name: "the live decision" }).getAttribute("href"),
    `#/realms/entra/decisions/${dave.decision_id}`,
  );

  // Clearing: the dialog says what stops; afterwards no version runs in shadow.
  await page.getByRole("link", { name: "Rules", exact: true }).click();
  await row.getByRole("button", { name: "Stop shadow…" }).click();
  const stop = page.getByRole("dialog");
  await stop.waitFor();
  assert.match(await stop.innerText(), new RegExp(`stop running user rules version ${candidate.version}`));
  await stop.getByRole("button", { name: "Stop shadow" }).click();
  await page.getByRole("status").filter({ hasText: "no longer runs in shadow" }).waitFor();
  assert.equal((await call("GET", "/v1/tenants/demo/realms/entra")).body.shadow_user_rules_version, null);
  await page.getByRole("link", { name: "Shadow", exact: true }).click();
  await page.getByTestId("shadow-user").filter({ hasText: /^none/ }).waitFor();
});

/** A DataTransfer in the page holding one file, as a drag from the desktop carries it. */
async function fileTransfer(name, bytes, type) {
  return page.evaluateHandle(
    ({ name, base64, type }) => {
      const binary = atob(base64);
      const data = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) data[i] = binary.charCodeAt(i);
      const transfer = new DataTransfer();
      transfer.items.add(new File([data], name, { type }));
      return transfer;
    },
    { name, base64: Buffer.from(bytes).toString("base64"), type },
  );
}

test("a .wasm dropped on the upload area is the module uploaded; anything else is refused", async () => {
  await page.getByRole("link", { name: "Rules", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Rules: user rules" }).waitFor();
  const zone = page.getByTestId("wasm-drop");
  await zone.scrollIntoViewIfNeeded();
  assert.equal(await page.getByTestId("wasm-chosen").innerText(), "Choose the file, or drop it here.");

  const text = await fileTransfer("notes.txt", Buffer.from("not a module"), "text/plain");
  await zone.dispatchEvent("dragenter", { dataTransfer: text });
  assert.match(await zone.getAttribute("class"), /\bdragging\b/);
  await zone.dispatchEvent("drop", { dataTransfer: text });
  assert.equal(await page.getByTestId("wasm-message").innerText(), "Not a module: notes.txt. Drop a .wasm file.");
  assert.doesNotMatch(await zone.getAttribute("class"), /\bdragging\b/);
  assert.equal(await page.getByTestId("wasm-chosen").innerText(), "Choose the file, or drop it here.");

  const wasmPath = join(modulesDir, "user_rules.wasm");
  const bytes = readFileSync(wasmPath);
  const wasm = await fileTransfer("user_rules.wasm", bytes, "application/wasm");
  await zone.dispatchEvent("dragenter", { dataTransfer: wasm });
  await shot("rules-drop", { full: false });
  await zone.dispatchEvent("drop", { dataTransfer: wasm });
  assert.equal(await page.getByTestId("wasm-chosen").innerText(), `user_rules.wasm, ${bytes.length.toLocaleString("en")} bytes`);
  assert.equal(await page.getByTestId("wasm-message").count(), 0);
  assert.equal(await page.getByLabel("Module (.wasm)").evaluate((input) => input.files[0]?.name), "user_rules.wasm", "the picker shows it too");

  await page.getByLabel("Note (what changed)").fill("dropped module");
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByTestId("uploaded").waitFor();
  const after = (await call("GET", "/v1/tenants/demo/realms/entra/modules/user/versions")).body;
  const stored = after.versions[after.versions.length - 1];
  assert.equal(stored.note, "dropped module");
  assert.equal(stored.digest, createHash("sha256").update(bytes).digest("hex"));
  assert.equal(stored.size, bytes.length);
});

/** Every page of a preview the API answers a page at a time, as one list of pages. */
async function allPages(path, cursorField, bodyCursor, body = {}) {
  const pages = [];
  let cursor = null;
  do {
    const answer = await call("POST", path, { body: { ...body, ...(cursor ? { [bodyCursor]: cursor } : {}) } });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    pages.push(answer.body);
    cursor = answer.body[cursorField];
  } while (cursor);
  return pages;
}

/** The counts a preview page shows, by label: {"change organization": 3, …}. */
async function shownCounts() {
  const counts = page.getByTestId("change-counts");
  return Object.fromEntries(
    await counts.locator("dd").evaluateAll((items) => items.map((item) => [item.dataset.count, Number(item.textContent)])),
  );
}

/** The same counts, from the API's changes: [before, after] effect pairs. */
function expectedCounts(pairs, { evaluated, changed, failed }) {
  const organizationOf = (effect) => effect.organization;
  const marks = (effect) => JSON.stringify((effect?.provider_groups ?? []).map((m) => [m.name, [...m.organizations].sort()]).sort());
  const decided = pairs.filter(([before]) => before !== null);
  const has = (list, item) => list.includes(item);
  return {
    evaluated,
    change: changed,
    "change organization": decided.filter(([b, a]) => organizationOf(b) !== organizationOf(a)).length,
    "become blocked": decided.filter(([b, a]) => b.organization !== null && a.organization === null).length,
    "gain groups": decided.filter(([b, a]) => a.groups.some((g) => !has(b.groups, g))).length,
    "lose groups": decided.filter(([b, a]) => b.groups.some((g) => !has(a.groups, g))).length,
    "provider-group marks change": decided.filter(([b, a]) => marks(b) !== marks(a)).length,
    "candidate or active fails": failed,
  };
}

test("impact preview: a candidate's counts, chart and changed users match the API's, page after page", async () => {
  // More users than one page of the preview (100), all of acme.com and in "contractors".
  for (let i = 0; i < 110; i++) {
    await login({ provider_user_id: `c${i}`, user_name: `contractor${i}@acme.com`, email: `contractor${i}@acme.com`, attributes: {}, provider_groups: ["contractors"] });
  }
  // A candidate that differs from the active version: no sales rule (Ada falls to acme staff),
  // contractors are not acme staff (blocked), and one rule-based group for everyone of acme.com.
  const listed = (await call("GET", "/v1/tenants/demo/realms/entra/modules/user/versions")).body;
  const activeVersion = listed.versions.find((v) => v.version === listed.active);
  const settings = structuredClone(activeVersion.settings);
  settings.rules = settings.rules.filter((rule) => rule.name !== "sales");
  const staff = settings.rules.find((rule) => rule.name === "acme staff");
  staff.when = { all: [staff.when, { not: { provider_group: { equals: "contractors" } } }] };
  delete settings.fallback;
  settings.groups = [{ name: "acme people", group: "acme-people", when: { email_domain: { equals: "acme.com" } } }];
  const uploaded = await call("POST", "/v1/tenants/demo/realms/entra/modules/user", {
    body: { wasm: readFileSync(join(modulesDir, "user_rules.wasm")).toString("base64"), settings, note: "impact candidate" },
  });
  assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
  const candidate = uploaded.body.version;

  // From the Rules page's row of that version (the page loads the versions anew).
  await page.getByRole("link", { name: "Overview", exact: true }).click();
  await page.getByRole("link", { name: "Rules", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Rules: user rules" }).waitFor();
  await page.locator(`[data-testid="versions"] tr[data-version="${candidate}"]`).getByRole("link", { name: "Impact…" }).click();
  await page.getByRole("heading", { level: 1, name: "Impact preview" }).waitFor();
  await eventually(async () => (await page.getByLabel("Candidate version").inputValue()) === String(candidate), "the row's version chosen");
  await page.getByRole("button", { name: "Preview the impact" }).click();
  await page.getByTestId("run-progress").and(page.locator('[data-state="complete"]')).waitFor();

  const pages = await allPages(`/v1/tenants/demo/realms/entra/modules/user/versions/${candidate}/impact`, "next_after", "after");
  assert.ok(pages.length >= 2, "the preview spans more than one page");
  const changes = pages.flatMap((p) => p.changes);
  const sum = (field) => pages.reduce((total, p) => total + p[field], 0);
  const expected = expectedCounts(changes.map((c) => [c.active, c.candidate]), { evaluated: sum("evaluated"), changed: sum("changed"), failed: sum("failed") });
  assert.deepEqual(await shownCounts(), expected);
  assert.ok(expected["become blocked"] >= 110 && expected["change organization"] >= 111 && expected["gain groups"] >= 1, JSON.stringify(expected));
  assert.match(await page.getByTestId("run-progress").innerText(), new RegExp(`^${expected.evaluated} users evaluated in ${pages.length} pages`));
  // The chart draws one bar per count, labelled with it.
  const bars = await page.getByTestId("change-chart").locator("g[data-bar]").evaluateAll((groups) =>
    Object.fromEntries(groups.map((g) => [g.dataset.bar, Number(g.dataset.value)])),
  );
  const { evaluated, ...barsExpected } = expected;
  assert.deepEqual(bars, barsExpected);

  // Ada's row: before → after as the API says, and the table shows 50 rows until asked for more.
  const ada = changes.find((c) => c.user_name === "ada@acme.com");
  assert.equal(ada.active.organization, "acme-sales");
  assert.equal(ada.candidate.organization, "acme");
  const table = page.getByTestId("impact-changes");
  assert.equal(await table.locator("tbody tr").count(), Math.min(50, changes.length));
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot("impact", { full: false });
  while ((await table.getByRole("button", { name: /^Show \d+ more/ }).count()) > 0) await table.getByRole("button", { name: /^Show \d+ more/ }).click();
  assert.equal(await table.locator("tbody tr").count(), changes.length);
  const row = table.locator(`tr[data-user-id="${ada.user_id}"]`);
  assert.equal(await row.locator('[data-cell="organization"]').innerText(), `${ada.active.organization} → ${ada.candidate.organization}`);
  const groups = await row.locator('[data-cell="groups"]').innerText();
  for (const group of ada.candidate.groups.filter((g) => !ada.active.groups.includes(g))) assert.match(groups, new RegExp(`\\+ ${group}`));
  for (const group of ada.active.groups.filter((g) => !ada.candidate.groups.includes(g))) assert.match(groups, new RegExp(`− ${group}`));
  const contractor = changes.find((c) => c.user_name === "contractor0@acme.com");
  assert.equal(
    await table.locator(`tr[data-user-id="${contractor.user_id}"] [data-cell="organization"]`).innerText(),
    `${contractor.active.organization} → No organization (blocked)`,
  );

  // Cancelling stops the run where it is (the second page is held back until then); the page
  // says the figures are partial.
  let held = 0;
  await page.route("**/impact", async (route) => {
    if (JSON.parse(route.request().postData()).after) {
      held++;
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    await route.continue();
  });
  await page.getByRole("button", { name: "Preview the impact" }).click();
  await eventually(async () => held > 0, "the second page's request");
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.getByTestId("run-progress").and(page.locator('[data-state="cancelled"]')).waitFor();
  assert.match(await page.getByTestId("run-progress").innerText(), /^100 users evaluated in 1 page: cancelled, the figures cover only these/);
  assert.equal((await shownCounts()).evaluated, 100);
  await page.unrouteAll({ behavior: "wait" });
});

test("backtest: the window's recorded decisions re-run with the candidate, as the API counts them", async () => {
  const listed = (await call("GET", "/v1/tenants/demo/realms/entra/modules/user/versions")).body;
  const candidate = listed.versions.filter((v) => v.note === "impact candidate").pop().version;
  await page.getByRole("link", { name: "Rules", exact: true }).click();
  await page.locator(`[data-testid="versions"] tr[data-version="${candidate}"]`).getByRole("link", { name: "Backtest…" }).click();
  await page.getByRole("heading", { level: 1, name: "Backtest" }).waitFor();
  await eventually(async () => (await page.getByLabel("Candidate version").inputValue()) === String(candidate), "the row's version chosen");

  // Every recorded decision (no window).
  await page.getByRole("button", { name: "Run the backtest" }).click();
  await page.getByTestId("run-progress").and(page.locator('[data-state="complete"]')).waitFor();
  const path = `/v1/tenants/demo/realms/entra/modules/user/versions/${candidate}/backtest`;
  const pages = await allPages(path, "next_before", "before");
  const changes = pages.flatMap((p) => p.changes);
  const sum = (field) => pages.reduce((total, p) => total + p[field], 0);
  const expected = expectedCounts(changes.map((c) => [c.recorded, c.candidate]), { evaluated: sum("examined"), changed: sum("changed"), failed: sum("failed") });
  expected["decided where rules failed"] = changes.filter((c) => c.recorded === null).length;
  assert.deepEqual(await shownCounts(), expected);
  assert.ok(expected.change >= 111, JSON.stringify(expected));
  const adaLogin = changes.find((c) => c.recorded?.organization === "acme-sales" && c.candidate.organization === "acme");
  assert.ok(adaLogin, "Ada's first login would have ended in acme");
  const table = page.getByTestId("backtest-changes");
  while ((await table.getByRole("button", { name: /^Show \d+ more/ }).count()) > 0) await table.getByRole("button", { name: /^Show \d+ more/ }).click();
  const row = table.locator(`tr[data-decision-id="${adaLogin.decision_id}"]`);
  assert.equal(await row.locator('[data-cell="organization"]').innerText(), "acme-sales → acme");
  assert.equal(await row.getByRole("link").getAttribute("href"), `#/realms/entra/decisions/${adaLogin.decision_id}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot("backtest", { full: false });

  // A window in the future holds nothing: the API's zero, and the page says what to do.
  const future = new Date(Date.now() + 86_400_000);
  const local = (date) => new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  await page.getByLabel("Since (empty: the first)").fill(local(future));
  await page.getByRole("button", { name: "Run the backtest" }).click();
  await page.getByText("The window holds no recorded decision").waitFor();
  const empty = await call("POST", path, { body: { since: new Date(local(future)).getTime() } });
  assert.equal(empty.body.examined, 0);
  assert.equal((await shownCounts()).evaluated, 0);
});

test("keys: one created shows its token once, works, is listed, and is refused once revoked", async () => {
  await page.getByRole("link", { name: "API keys" }).click();
  await page.getByRole("heading", { level: 1, name: "API keys of demo" }).waitFor();
  await page.getByLabel("Label").fill("nightly export");
  await page.getByLabel("Kind").selectOption("admin");
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = page.getByTestId("secret-once");
  await secret.waitFor();
  assert.match(await secret.innerText(), /you will not see it again/);
  const token = await page.getByTestId("secret-value").innerText();
  assert.match(token, /^mk_/);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  await secret.getByRole("button", { name: "Copy" }).click();
  await secret.getByText("Copied to the clipboard.").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);

  // Listed as the API lists it; and it works.
  const keyId = token.slice("mk_".length, token.indexOf("_", "mk_".length));
  const listed = (await call("GET", "/v1/tenants/demo/keys")).body.keys.find((key) => key.id === keyId);
  assert.equal(listed.label, "nightly export");
  const row = page.locator(`[data-testid="keys"] tr[data-key-id="${keyId}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /nightly export\tadmin\t.*\tactive/);
  assert.equal((await call("GET", "/v1/tenants/demo/realms", { key: token })).status, 200);
  await shot("keys");
  await secret.getByRole("button", { name: "Done" }).click();
  assert.equal(await page.getByTestId("secret-once").count(), 0, "the token is gone from the page");

  // Revoked after a confirmation: refused from then on.
  await row.getByRole("button", { name: "Revoke…" }).click();
  const dialog = page.getByRole("dialog");
  assert.match(await dialog.innerText(), new RegExp(`admin key ${keyId} \\(“nightly export”\\) stops working at once`));
  await dialog.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("status").filter({ hasText: `Key ${keyId} is revoked` }).waitFor();
  await row.getByText(/^revoked/).waitFor();
  assert.equal((await call("GET", "/v1/tenants/demo/realms", { key: token })).status, 401);

  // The last admin key: the API refuses, and the page shows its message.
  const keys = (await call("GET", "/v1/tenants/demo/keys")).body.keys;
  const signedIn = adminKey.slice("mk_".length, adminKey.indexOf("_", "mk_".length));
  for (const key of keys.filter((k) => k.kind === "admin" && k.revoked_at === null && k.id !== signedIn)) {
    assert.equal((await call("DELETE", `/v1/tenants/demo/keys/${key.id}`)).status, 204);
  }
  await page.getByRole("link", { name: "Realms", exact: true }).click();
  await page.getByRole("link", { name: "API keys" }).click();
  const mine = page.locator(`[data-testid="keys"] tr[data-key-id="${signedIn}"]`);
  assert.match(await mine.innerText(), /the key you are signed in with/);
  await mine.getByRole("button", { name: "Revoke…" }).click();
  assert.match(await page.getByRole("dialog").innerText(), /It is the key you are signed in with/);
  await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
  const refused = await call("DELETE", `/v1/tenants/demo/keys/${signedIn}`);
  assert.equal(refused.status, 409);
  await page.getByRole("alert").filter({ hasText: refused.body.error.message }).waitFor();
  assert.equal((await call("GET", "/v1/tenants/demo/realms")).status, 200, "the signed-in key still works");
});

test("audit: the log newest first, as the API has it, and filtered by action", async () => {
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("heading", { level: 1, name: "Audit log of demo" }).waitFor();
  await page.getByTestId("run-progress").and(page.locator('[data-state="complete"]')).waitFor();
  const all = [];
  for (let after = null; ; ) {
    const answer = (await call("GET", `/v1/tenants/demo/audit?limit=1000${after ? `&after=${after}` : ""}`)).body;
    all.push(...answer.events);
    if (!answer.next_after) break;
    after = answer.next_after;
  }
  const table = page.getByTestId("audit");
  const shownSeqs = await table.locator("tbody tr").evaluateAll((rows) => rows.map((row) => Number(row.dataset.seq)));
  assert.deepEqual(shownSeqs, all.map((event) => event.seq).reverse().slice(0, 50), "newest first, 50 at a time");

  // Only the key events: the nightly export key's creation and revocation among them, with details.
  await page.getByLabel(/^Action/).fill("key.");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await page.getByTestId("run-progress").and(page.locator('[data-state="complete"]')).waitFor();
  const keyEvents = (await call("GET", "/v1/tenants/demo/audit?action=key.&limit=1000")).body.events;
  await eventually(async () => (await table.locator("tbody tr").count()) === Math.min(50, keyEvents.length), "the filtered log");
  const actions = await table.locator("tbody tr td:nth-child(3)").allInnerTexts();
  assert.ok(actions.every((action) => action.startsWith("key.")), actions.join());
  const created = keyEvents.find((event) => event.action === "key.created" && JSON.stringify(event).includes("nightly export"));
  assert.ok(created, "the key's creation is audited");
  const row = table.locator(`tr[data-seq="${created.seq}"]`);
  const cells = await row.locator("td").allInnerTexts();
  assert.equal(cells[1], created.actor);
  assert.equal(cells[2], "key.created");
  assert.equal(cells[3], created.target);
  assert.match(cells[4], /nightly export/);
  await shot("audit");
});

/** One page of the users API, as the Users page asks for it (50 a page). */
async function usersPage(query = {}) {
  const answer = await call("GET", `/v1/tenants/demo/realms/entra/users?${new URLSearchParams({ limit: "50", ...query })}`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body;
}

/** The user names the Users page lists, in order. */
function shownUserNames() {
  return page.getByTestId("user-table").locator("tbody tr th").allInnerTexts();
}

/** Waits until the Users page lists exactly these users, in this order. */
async function untilUsersShown(users, what) {
  const expected = JSON.stringify(users.map((user) => user.user_name));
  await eventually(async () => (await page.getByTestId("user-table").count()) > 0 && JSON.stringify(await shownUserNames()) === expected, what);
}

async function openRealmPage(link, heading) {
  await page.goto(`${base}/console/#/realms/entra`);
  await page.getByRole("heading", { level: 1, name: /overview/ }).waitFor();
  await page.getByRole("link", { name: link, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
}

/** The SCIM secrets the console showed (for the check that none is kept or put in a URL). */
const scimSecrets = [];
/** A user made for the user pages' tests. */
let erin;

test("users: a search by part of a name lists the API's matches, a page at a time", async () => {
  await openRealmPage("Users", "Users");
  // Unfiltered: the first page, ordered by user name as the API orders it.
  const first = await usersPage();
  await untilUsersShown(first.users, "the first page of users");
  const ada = page.locator(`[data-testid="user-table"] tr[data-user-id="${first.users[0].id}"]`);
  assert.match(await ada.innerText(), /^ada@acme\.com\tAda Lovelace\tada@acme\.com\tacme-sales\tactive\t\d{4}-/);
  const bob = first.users.find((user) => user.user_name === "bob@globex.com");
  assert.match(await page.locator(`tr[data-user-id="${bob.id}"]`).innerText(), /No organization \(blocked\)/);
  await shot("users", { full: false });

  // Part of a name; a display name; an external id: the API's matches, typed.
  for (const search of ["contractor1", "lovelace", "77b1"]) {
    await page.getByLabel("Search", { exact: true }).fill(search);
    const expected = await usersPage({ search });
    assert.ok(expected.users.length >= 1, `the API finds ${search}`);
    await untilUsersShown(expected.users, `the matches of ${search}`);
  }

  // More than a page: Next page continues at the API's next_after; Previous page goes back.
  await page.getByLabel("Search", { exact: true }).fill("contractor");
  const page1 = await usersPage({ search: "contractor" });
  assert.ok(page1.next_after, "110 contractors are more than a page");
  await untilUsersShown(page1.users, "the first page of contractors");
  assert.equal(await page.getByTestId("users-page").innerText(), "Page 1: 50 users");
  await page.getByRole("button", { name: "Next page" }).click();
  const page2 = await usersPage({ search: "contractor", after: page1.next_after });
  await untilUsersShown(page2.users, "the second page");
  await page.getByTestId("users-page").filter({ hasText: `Page 2: ${page2.users.length} users` }).waitFor();
  await page.getByRole("button", { name: "Previous page" }).click();
  await untilUsersShown(page1.users, "the first page again");

  // No match: the empty state says what to do.
  await page.getByLabel("Search", { exact: true }).fill("nobody-is-called-this");
  await page.getByText("No user matches “nobody-is-called-this”").waitFor();
  assert.deepEqual((await usersPage({ search: "nobody-is-called-this" })).users, []);
  await page.getByRole("button", { name: "clear the search" }).click();
  await untilUsersShown(first.users, "every user again");
});

test("a user's page: organization, groups, a session after a login, decisions; the test panel on them", async () => {
  erin = await login({
    provider_user_id: "e41n",
    user_name: "erin@acme.com",
    email: "erin@acme.com",
    display_name: "Erin Example",
    attributes: { department: ["Sales"], title: ["Account Executive"] },
    provider_groups: ["sales-emea", "all-staff"],
  });
  assert.ok(erin.session, "the login opened a session");
  await openRealmPage("Users", "Users");
  await page.getByLabel("Search", { exact: true }).fill("erin");
  await untilUsersShown([{ user_name: "erin@acme.com" }], "Erin found");
  await page.getByRole("link", { name: "erin@acme.com" }).click();
  await page.getByRole("heading", { level: 1, name: "erin@acme.com" }).waitFor();

  const user = (await call("GET", `/v1/tenants/demo/realms/entra/users/${erin.user_id}`)).body;
  assert.equal(user.organization, erin.organization);
  assert.equal(await page.getByTestId("user-organization").innerText(), user.organization);
  assert.equal(await page.getByTestId("user-status").innerText(), "active");
  assert.deepEqual((await page.getByTestId("user-provider-groups").locator("li").allInnerTexts()), user.provider_groups);
  const ruleGroups = await page.getByTestId("user-rule-groups").locator("li").allInnerTexts();
  assert.deepEqual(ruleGroups, user.rule_groups);
  const attributes = await page.getByTestId("user-attributes").locator("tbody tr").allInnerTexts();
  assert.deepEqual(attributes, Object.entries(user.attributes).map(([name, values]) => `${name}\t${values.join(", ")}`));

  // The session the login opened, as the API lists it.
  const sessions = (await call("GET", `/v1/tenants/demo/realms/entra/users/${erin.user_id}/sessions`)).body.sessions;
  assert.deepEqual(sessions.map((session) => session.state), ["active"]);
  const rows = page.getByTestId("user-sessions").locator("tbody tr");
  await rows.first().waitFor();
  assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.state)), ["active"]);

  // Their decisions, newest first, each linking to its record.
  const decisions = (await call("GET", `/v1/tenants/demo/decisions?realm=entra&user=${erin.user_id}&limit=10`)).body.decisions;
  assert.ok(decisions.some((decision) => decision.id === erin.decision_id));
  const history = page.getByTestId("user-decisions").locator("tbody tr");
  await history.first().waitFor();
  assert.deepEqual(await history.evaluateAll((trs) => trs.map((tr) => tr.dataset.decisionId)), decisions.map((d) => d.id));
  assert.equal(
    await page.locator(`tr[data-decision-id="${erin.decision_id}"]`).getByRole("link").getAttribute("href"),
    `#/realms/entra/decisions/${erin.decision_id}`,
  );
  await shot("user-detail");

  // Try the rules on them: the test panel, with their id; its verdict is the API's dry run.
  await page.getByRole("link", { name: "Try the rules on this user" }).click();
  await page.getByRole("heading", { level: 1, name: "Test panel" }).waitFor();
  assert.equal(await page.getByLabel("User id", { exact: true }).inputValue(), erin.user_id);
  await page.getByTestId("chosen-user").filter({ hasText: "erin@acme.com" }).waitFor();
  await page.getByRole("button", { name: "Run" }).click();
  const dryRun = (await call("POST", `/v1/tenants/demo/realms/entra/users/${erin.user_id}/dry-run`, { body: {} })).body;
  await page.getByTestId("dry-run-verdict").waitFor();
  assert.match(await page.getByTestId("dry-run-verdict").innerText(), new RegExp(`^Organization ${dryRun.evaluation.user.organization}`));
});

test("deactivating a user with a reason blocks them and revokes their session; reactivating runs the rules again", async () => {
  await page.goto(`${base}/console/#/realms/entra/users/${erin.user_id}`);
  await page.getByRole("heading", { level: 1, name: "erin@acme.com" }).waitFor();
  await page.getByRole("button", { name: "Deactivate…" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  const said = await dialog.innerText();
  assert.match(said, /they are blocked: every login is refused/);
  assert.match(said, new RegExp(`removed from their organization \\(${erin.organization}\\) and their rule-based groups`));
  assert.match(said, /every session of theirs is revoked/);
  const confirm = dialog.getByRole("button", { name: "Deactivate", exact: true });
  assert.equal(await confirm.isDisabled(), true, "a reason is required");
  await dialog.getByLabel("Reason (required)").fill("left the company");
  await confirm.click();
  await page.getByTestId("user-notice").filter({ hasText: "erin@acme.com is deactivated" }).waitFor();
  assert.match(await page.getByTestId("user-notice").innerText(), /1 session revoked\.$/);

  // The API has them deactivated, their session revoked with the reason.
  const user = (await call("GET", `/v1/tenants/demo/realms/entra/users/${erin.user_id}`)).body;
  assert.equal(user.status, "deactivated");
  assert.equal(user.organization, null);
  const sessions = (await call("GET", `/v1/tenants/demo/realms/entra/users/${erin.user_id}/sessions`)).body.sessions;
  assert.deepEqual(sessions.map((s) => [s.state, s.revoked_reason]), [["revoked", "left the company"]]);
  const introspected = await call("POST", "/v1/tenants/demo/realms/entra/sessions/introspect", { body: { session: erin.session }, key: evalKey });
  assert.deepEqual([introspected.body.active, introspected.body.reason], [false, "revoked: left the company"]);
  // … and so does the page.
  assert.match(await page.getByTestId("user-status").innerText(), /^deactivated since /);
  assert.equal(await page.getByTestId("user-organization").innerText(), "No organization (blocked)");
  const session = page.getByTestId("user-sessions").locator('tbody tr[data-state="revoked"]');
  await session.waitFor();
  assert.equal(await session.getByTestId("revoked-reason").innerText(), ": left the company");

  // The Users page's status filter: the API's deactivated users.
  await page.getByRole("link", { name: "← Users" }).click();
  await page.getByLabel("Status").selectOption("deactivated");
  const deactivated = await usersPage({ status: "deactivated" });
  assert.ok(deactivated.users.some((u) => u.id === erin.user_id));
  await untilUsersShown(deactivated.users, "the deactivated users");
  await page.getByRole("link", { name: "erin@acme.com" }).click();

  // Reactivate, with the keyboard alone: the rules run again and put them back.
  await page.getByRole("button", { name: "Reactivate…" }).focus();
  await page.keyboard.press("Enter");
  const again = page.getByRole("dialog");
  await again.waitFor();
  assert.match(await again.innerText(), /the realm's active rules run on them now and are applied/);
  const reactivate = again.getByRole("button", { name: "Reactivate", exact: true });
  assert.equal(await reactivate.isDisabled(), true, "a reason is required");
  await page.keyboard.type("back from leave");
  await reactivate.focus();
  await page.keyboard.press("Enter");
  await page.getByTestId("user-notice").filter({ hasText: "erin@acme.com is active again" }).waitFor();
  const back = (await call("GET", `/v1/tenants/demo/realms/entra/users/${erin.user_id}`)).body;
  assert.equal(back.status, "active");
  const reasons = (await call("GET", "/v1/tenants/demo/audit?action=user.reactivation_reason")).body.events;
  assert.deepEqual(reasons.map((e) => [e.target, e.details.reason]), [[erin.user_id, "back from leave"]]);
  assert.equal(back.organization, erin.organization);
  assert.equal(await page.getByTestId("user-status").innerText(), "active");
  assert.equal(await page.getByTestId("user-organization").innerText(), back.organization);
  // The reactivation's decision heads their history.
  const newest = (await call("GET", `/v1/tenants/demo/decisions?realm=entra&user=${erin.user_id}&limit=1`)).body.decisions[0];
  assert.equal(newest.trigger, "scim_reactivate");
  await page.getByTestId("user-decisions").locator(`tbody tr[data-decision-id="${newest.id}"]`).waitFor();
  assert.equal(await page.getByTestId("user-decisions").locator("tbody tr").first().getAttribute("data-decision-id"), newest.id);
});

test("bulk deprovisioning: a CSV naming two users (one unknown) is previewed, confirmed, and reported row by row", async () => {
  const frank = await login({ provider_user_id: "f7a2", user_name: "frank@acme.com", email: "frank@acme.com", attributes: {}, provider_groups: [] });
  await openRealmPage("Users", "Users");
  const zone = page.getByTestId("csv-drop");
  await zone.scrollIntoViewIfNeeded();
  // Not a CSV: refused where it is dropped.
  const text = await fileTransfer("leavers.txt", Buffer.from("frank@acme.com\n"), "text/plain");
  await zone.dispatchEvent("drop", { dataTransfer: text });
  assert.equal(await page.getByTestId("csv-message").innerText(), "Not a CSV file: leavers.txt. Drop a .csv file.");

  const csv = "userName\nfrank@acme.com\nnobody@nowhere.example\n";
  await zone.dispatchEvent("drop", { dataTransfer: await fileTransfer("leavers.csv", Buffer.from(csv), "text/csv") });
  assert.equal(
    await page.getByTestId("csv-preview").innerText(),
    "3 lines: a header (userName) and 2 users named (frank@acme.com, nobody@nowhere.example).",
  );
  await page.getByRole("button", { name: "Deactivate the users in the file…" }).click();
  const dialog = page.getByRole("dialog");
  assert.match(await dialog.innerText(), /Deactivate the 2 users in leavers\.csv\?/);
  assert.match(await dialog.innerText(), /blocked \(every login refused\), removed from their organization and groups, and every session of theirs revoked/);
  const answered = page.waitForResponse((response) => response.url().endsWith("/v1/tenants/demo/realms/entra/deprovision"));
  await dialog.getByRole("button", { name: "Deactivate 2 users" }).click();
  const response = await answered;
  assert.equal(response.request().headers()["content-type"], "text/csv");
  assert.equal(response.request().postData(), csv, "the file is sent as it is");
  const report = await response.json();
  assert.deepEqual(
    report.rows.map((row) => [row.line, row.value, row.outcome, row.user_id]),
    [
      [2, "frank@acme.com", "deactivated", frank.user_id],
      [3, "nobody@nowhere.example", "not_found", undefined],
    ],
  );
  assert.deepEqual([report.deactivated, report.already_deactivated, report.not_found, report.errors], [1, 0, 1, 0]);

  // The page's report is the API's, row by row, with its totals.
  const shown = page.getByTestId("deprovision-report");
  await shown.waitFor();
  assert.deepEqual(
    await shown.locator("tbody tr").allInnerTexts(),
    report.rows.map((row) => `${row.line}\t${row.value}\t${row.outcome.replace("_", " ")}`),
  );
  const totals = Object.fromEntries(
    await shown.locator("dd").evaluateAll((items) => items.map((item) => [item.dataset.count, Number(item.textContent)])),
  );
  assert.deepEqual(totals, { deactivated: report.deactivated, already_deactivated: report.already_deactivated, not_found: report.not_found, errors: report.errors });
  assert.equal(await shown.getByRole("link", { name: "frank@acme.com" }).getAttribute("href"), `#/realms/entra/users/${frank.user_id}`);
  assert.equal((await call("GET", `/v1/tenants/demo/realms/entra/users/${frank.user_id}`)).body.status, "deactivated");
  // Sent again through the API, the same file finds Frank deactivated already.
  const twice = await fetch(`${base}/v1/tenants/demo/realms/entra/deprovision`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminKey}`, "Content-Type": "text/csv" },
    body: csv,
  }).then((r) => r.json());
  assert.deepEqual(twice.rows.map((row) => row.outcome), ["already_deactivated", "not_found"]);
});

/** The SCIM token endpoint's answer for a client id and secret (client_credentials). */
async function scimToken(clientId, secret) {
  const response = await fetch(`${base}/scim/demo/entra/oauth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: secret }),
  });
  return { status: response.status, body: await response.json() };
}

async function scimGet(path, token) {
  const response = await fetch(`${base}/scim/demo/entra/v2${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

test("SCIM: the URLs to copy, a client created with its secret shown once that works, rotated and revoked; the status", async () => {
  await openRealmPage("SCIM", "SCIM");
  const before = (await call("GET", "/v1/tenants/demo/realms/entra/scim/status")).body;
  assert.equal(await page.getByTestId("scim-url-value").innerText(), before.scim_url);
  assert.equal(await page.getByTestId("token-url-value").innerText(), before.token_url);
  await page.getByRole("button", { name: "Copy the Tenant URL" }).click();
  await page.getByTestId("scim-url").getByText("Copied to the clipboard.").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), before.scim_url);

  // Create: the secret once, beside the client id and the URLs.
  await page.getByLabel("Label").fill("Entra provisioning");
  await page.getByRole("button", { name: "Create client" }).click();
  const secretBox = page.getByTestId("secret-once");
  await secretBox.waitFor();
  assert.match(await secretBox.innerText(), /Copy the client secret now: you will not see it again/);
  const secret = await secretBox.getByTestId("secret-value").innerText();
  const clientId = await secretBox.getByTestId("new-client-id-value").innerText();
  scimSecrets.push(secret);
  assert.match(clientId, /^sc_/);
  assert.match(await secretBox.innerText(), new RegExp(before.token_url.replace(/[.?]/g, "\\$&")));
  await secretBox.getByRole("button", { name: "Copy", exact: true }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  const listed = (await call("GET", "/v1/tenants/demo/realms/entra/scim/credentials")).body;
  const credential = listed.credentials.find((c) => c.client_id === clientId);
  assert.equal(credential.label, "Entra provisioning");
  assert.ok(!JSON.stringify(listed).includes(secret), "the API never lists a secret");
  const row = page.locator(`[data-testid="scim-credentials"] tr[data-client-id="${clientId}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /Entra provisioning\t.*\tnever\tactive/);

  // It works: an access token for it, and SCIM requests with that token (one of them an error).
  const token = await scimToken(clientId, secret);
  assert.equal(token.status, 200, JSON.stringify(token.body));
  assert.equal((await scimGet("/Users?count=1", token.body.access_token)).status, 200);
  const missing = await scimGet("/Users/no-such-user", token.body.access_token);
  assert.equal(missing.status, 404);
  await secretBox.getByRole("button", { name: "Done" }).click();
  assert.equal(await page.getByTestId("secret-once").count(), 0);
  assert.ok(!(await page.content()).includes(secret), "the secret is gone from the page");

  // The overview's SCIM card and the SCIM page's status say what the API says.
  const status = (await call("GET", "/v1/tenants/demo/realms/entra/scim/status")).body;
  assert.ok(status.requests >= before.requests + 2, "both SCIM requests are counted");
  assert.equal(status.last_error.status, 404);
  assert.ok(status.last_error.detail, "a SCIM error has a detail");
  await page.getByRole("link", { name: "Overview", exact: true }).click();
  const card = page.getByTestId("overview-scim");
  await card.getByTestId("overview-scim-errors").waitFor();
  assert.equal(await card.getByTestId("overview-scim-errors").innerText(), `${status.errors} of ${status.requests} requests`);
  assert.match(await card.getByTestId("overview-scim-last").innerText(), new RegExp(`${status.last_request.method} .*→ ${status.last_request.status}`));
  assert.match(await card.getByTestId("overview-scim-last-error").innerText(), new RegExp(`→ 404: ${status.last_error.detail.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  await card.getByRole("link", { name: "SCIM page →" }).click();
  await page.getByRole("heading", { level: 1, name: "SCIM" }).waitFor();
  await page.getByTestId("scim-requests").waitFor();
  assert.equal(await page.getByTestId("scim-requests").innerText(), String(status.requests));
  assert.equal(await page.getByTestId("scim-errors").innerText(), String(status.errors));
  assert.match(await page.getByTestId("scim-last-error").innerText(), new RegExp(`GET ${status.last_error.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} → 404`));

  // Rotate: a new secret, shown once; the old one is refused from then on.
  await row.getByRole("button", { name: `Rotate ${clientId}…` }).click();
  const rotate = page.getByRole("dialog");
  assert.match(await rotate.innerText(), /Its current secret stops working at once/);
  await rotate.getByRole("button", { name: "Rotate the secret" }).click();
  await secretBox.waitFor();
  assert.match(await secretBox.innerText(), /Copy the new client secret now/);
  const rotated = await secretBox.getByTestId("secret-value").innerText();
  scimSecrets.push(rotated);
  assert.notEqual(rotated, secret);
  assert.equal((await scimToken(clientId, secret)).body.error, "invalid_client");
  const fresh = await scimToken(clientId, rotated);
  assert.equal(fresh.status, 200);
  assert.notEqual((await call("GET", "/v1/tenants/demo/realms/entra/scim/credentials")).body.credentials.find((c) => c.client_id === clientId).rotated_at, null);
  await row.locator("td").nth(2).filter({ hasNotText: "never" }).waitFor();
  await page.getByTestId("scim-requests").waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot("scim");

  // Static bearer tokens: on, the secret works as one; off again, refused.
  const bearer = page.getByLabel("Accept a client's secret as a static bearer token");
  assert.equal(await bearer.isChecked(), false);
  await bearer.check();
  await page.getByTestId("scim-bearer").getByText("Static bearer tokens are accepted now.").waitFor();
  assert.equal((await call("GET", "/v1/tenants/demo/realms/entra")).body.scim_bearer_enabled, true);
  assert.equal((await scimGet("/Users?count=1", `${clientId}.${rotated}`)).status, 200);
  await bearer.uncheck();
  await page.getByTestId("scim-bearer").getByText(/Static bearer tokens are refused now/).waitFor();
  assert.equal((await call("GET", "/v1/tenants/demo/realms/entra")).body.scim_bearer_enabled, false);
  assert.equal((await scimGet("/Users?count=1", `${clientId}.${rotated}`)).status, 401);

  // Revoke: the secret and the tokens issued to it stop working.
  await row.getByRole("button", { name: `Revoke ${clientId}…` }).click();
  const revoke = page.getByRole("dialog");
  assert.match(await revoke.innerText(), /its secret and every access token issued to it are refused/);
  await revoke.getByRole("button", { name: "Revoke", exact: true }).click();
  await page.getByRole("status").filter({ hasText: `Client ${clientId} is revoked` }).waitFor();
  await row.getByText(/^revoked/).waitFor();
  assert.equal(await page.getByTestId("secret-once").count(), 0, "a revoked client's secret is not left on the page");
  assert.notEqual((await call("GET", "/v1/tenants/demo/realms/entra/scim/credentials")).body.credentials.find((c) => c.client_id === clientId).revoked_at, null);
  assert.equal((await scimToken(clientId, rotated)).body.error, "invalid_client");
  assert.equal((await scimGet("/Users?count=1", fresh.body.access_token)).status, 401);
});

test("retention: set in the console and read back from the API; purge now; kept forever", async () => {
  await page.getByRole("link", { name: "Retention", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Decision retention of demo" }).waitFor();
  const tenant = (await call("GET", "/v1/tenants/demo")).body;
  const kept = (days) => (days === null ? "kept forever" : `kept ${days} day${days === 1 ? "" : "s"}`);
  await page.getByTestId("retention-current").filter({ hasText: kept(tenant.decision_retention_days) }).waitFor();

  await page.getByLabel("for a number of days").check();
  await page.getByLabel("Days", { exact: true }).fill("30");
  await page.getByRole("button", { name: "Save…" }).click();
  const dialog = page.getByRole("dialog");
  assert.match(await dialog.innerText(), /Keep decision records 30 days\?/);
  assert.match(await dialog.innerText(), /Records older than 30 days .* are deleted by the next run of the periodic job/);
  await dialog.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("status").filter({ hasText: "Decision records are kept 30 days now." }).waitFor();
  assert.equal((await call("GET", "/v1/tenants/demo")).body.decision_retention_days, 30);
  await page.getByTestId("retention-current").filter({ hasText: "kept 30 days" }).waitFor();

  // Purge now: the page says what the API answered.
  await page.getByRole("button", { name: "Purge now…" }).click();
  assert.match(await page.getByRole("dialog").innerText(), /Every decision record older than 30 days/);
  const answered = page.waitForResponse((response) => response.url().endsWith("/v1/tenants/demo/decisions/purge"));
  await page.getByRole("dialog").getByRole("button", { name: "Purge now" }).click();
  const purge = await (await answered).json();
  assert.ok(purge.cutoff > Date.now() - 31 * 86_400_000 && purge.cutoff < Date.now() - 29 * 86_400_000, JSON.stringify(purge));
  await page.getByTestId("purged").waitFor();
  assert.match(await page.getByTestId("purged").innerText(), new RegExp(`^Deleted ${purge.purged} decision records? made before \\d{4}-`));
  const older = (await call("GET", `/v1/tenants/demo/decisions?until=${purge.cutoff}&limit=1`)).body.decisions;
  assert.deepEqual(older, [], "nothing older than the cutoff is left");
  await shot("retention");

  // Forever: null in the API; nothing to purge.
  await page.getByLabel("forever (nothing is ever deleted)").check();
  assert.equal(await page.getByLabel("Days", { exact: true }).isDisabled(), true);
  await page.getByRole("button", { name: "Save…" }).click();
  assert.match(await page.getByRole("dialog").innerText(), /Keep decision records forever\?/);
  await page.getByRole("dialog").getByRole("button", { name: "Save", exact: true }).click();
  await page.getByRole("status").filter({ hasText: "Decision records are kept forever now." }).waitFor();
  assert.equal((await call("GET", "/v1/tenants/demo")).body.decision_retention_days, null);
  await page.getByTestId("retention-current").filter({ hasText: "kept forever" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Purge now…" }).isDisabled(), true);
});

/** Waits until the script editor shows `script`: CodeMirror draws the lines in and near its
 *  window (each a `.cm-line`), from the first, so those drawn are the script's beginning. */
async function showsScript(script, what) {
  const editor = page.getByTestId("script-editor");
  await editor.scrollIntoViewIfNeeded();
  await eventually(async () => {
    const shown = (await editor.locator(".cm-line").evaluateAll((lines) => lines.map((line) => line.textContent))).join("\n");
    return shown.split("\n").length >= 20 && script.startsWith(shown);
  }, what);
}

/** Replaces the script editor's whole text with `text`: select all, and paste. */
async function replaceScript(text) {
  const content = page.getByTestId("script-editor").locator(".cm-content");
  await content.click();
  await page.keyboard.press("Control+A");
  await content.evaluate((element, pasted) => {
    const data = new DataTransfer();
    data.setData("text/plain", pasted);
    element.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

test("JavaScript rules: the script in a code editor, a syntax error marked at its line, the draft previewed, then uploaded", async () => {
  const realmPath = "/v1/tenants/demo/realms/okta-js";
  for (const user of [ADA, BOB]) {
    const answer = await call("POST", `${realmPath}/login`, { body: user, key: evalKey });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  }
  const stored = (await call("GET", `${realmPath}/modules/user/versions`)).body;
  const active = stored.versions.find((version) => version.version === stored.active);
  const script = active.settings.script;

  await page.goto(`${base}/console/#/realms/okta-js/rules/user`);
  await page.getByRole("heading", { level: 1, name: "Rules: user rules" }).waitFor();
  await page.getByTestId("script-editor").locator(".cm-content").waitFor();
  assert.match(await page.getByTestId("editor-mode").innerText(), /stock js-rules module/);
  await showsScript(script, "the active version's script in the editor");
  // Styled by CodeMirror itself under the console's CSP: its gutter and the highlighting of a keyword.
  const styles = await page.getByTestId("script-editor").evaluate((host) => {
    const editor = host.shadowRoot;
    const gutters = editor.querySelector(".cm-gutters");
    const keyword = [...editor.querySelectorAll(".cm-line span")].find((span) => span.textContent === "export");
    return {
      gutter: gutters && getComputedStyle(gutters).display,
      keyword: keyword && getComputedStyle(keyword).color,
      text: getComputedStyle(editor.querySelector(".cm-content")).color,
    };
  });
  assert.equal(styles.gutter, "flex", "CodeMirror's own styles apply");
  assert.ok(styles.keyword && styles.keyword !== styles.text, `a keyword is highlighted: ${JSON.stringify(styles)}`);

  // A syntax error: the upload is refused at `script`, and that line is marked in the editor.
  const lines = script.split("\n");
  const at = lines.findIndex((line) => line.includes('regex("(?i)manager")'));
  assert.ok(at >= 0, "the demo script compiles a manager pattern");
  const broken = lines.map((line, i) => (i === at ? line.replace('regex("(?i)manager")', 'regex("(?i)manager"') : line)).join("\n");
  await replaceScript(broken);
  await page.getByLabel("Module (.wasm)").setInputFiles(join(modulesDir, "js_rules.wasm"));
  await page.getByRole("button", { name: "Upload" }).click();
  const scriptError = page.getByTestId("script-error");
  await scriptError.waitFor({ timeout: 60_000 });
  assert.match(await scriptError.innerText(), new RegExp(`line ${at + 1}, column \\d+: SyntaxError`));
  const marked = page.getByTestId("script-editor").locator(".cm-lintRange-error");
  await marked.first().waitFor();
  const markedLine = await marked.first().evaluate((element) => element.closest(".cm-line").textContent);
  assert.equal(markedLine, lines[at].replace('regex("(?i)manager")', 'regex("(?i)manager"'));
  assert.equal((await call("GET", `${realmPath}/modules/user/versions`)).body.versions.length, stored.versions.length, "nothing stored");
  // The marked line in sight for the picture (the paste left the editor at its end).
  await page.getByTestId("script-editor").locator(".cm-scroller").evaluate((scroller) => scroller.scrollTo(0, 0));
  await shot("rules-js-refused");

  // Fixed, and Sales now goes to acme: the mark goes with the edit; the draft is previewed.
  const fixed = script.replace('organization: "acme-sales", rule: "sales"', 'organization: "acme", rule: "sales"');
  assert.notEqual(fixed, script);
  await replaceScript(fixed);
  await page.getByTestId("script-error").waitFor({ state: "detached" });
  assert.equal(await marked.count(), 0);
  await page.getByTestId("draft-actions").getByRole("link", { name: "Test this draft…", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Test panel" }).waitFor();
  assert.equal(await page.getByLabel("User-rules version").inputValue(), "draft");
  await page.getByLabel("Search users by name").fill("ada@");
  await page.getByTestId("user-matches").locator("option", { hasText: "ada@acme.com" }).waitFor();
  await page.getByTestId("user-matches").selectOption({ label: (await page.getByTestId("user-matches").locator("option", { hasText: "ada@acme.com" }).textContent()) });
  await page.getByTestId("chosen-user").filter({ hasText: "ada@acme.com" }).waitFor();
  await page.getByRole("button", { name: "Run" }).click();
  // The draft's snapshot is compiled on its first use: seconds of CPU.
  await page.getByTestId("dry-run-result").waitFor({ timeout: 90_000 });
  const adaId = await page.getByLabel("User id").inputValue();
  const apiDry = await call("POST", `${realmPath}/users/${adaId}/dry-run`, { body: { user_rules_settings: { script: fixed } } });
  assert.equal(apiDry.status, 200, JSON.stringify(apiDry.body));
  assert.equal(apiDry.body.evaluation.user.organization, "acme");
  assert.equal(apiDry.body.evaluation.user.module.draft, true);
  assert.match(await page.getByTestId("dry-run-verdict").innerText(), /Organization acme\b/);
  assert.match(await page.getByTestId("dry-run-result").innerText(), new RegExp(`User rules \\(draft of version ${stored.active}\\)`));
  await shot("test-panel-draft");

  // Back on the Rules page the draft is still there; its impact: Ada would change, as the API says.
  await page.getByRole("link", { name: "Rules", exact: true }).click();
  await page.getByTestId("script-editor").locator(".cm-content").waitFor();
  await showsScript(fixed, "the draft's script in the editor again");
  await page.getByTestId("draft-actions").getByRole("link", { name: "Impact of this draft…", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Impact preview" }).waitFor();
  assert.equal(await page.getByLabel("Candidate version").inputValue(), "draft");
  await page.getByRole("button", { name: "Preview the impact" }).click();
  await page.getByTestId("impact-changes").waitFor({ timeout: 60_000 });
  const apiImpact = await call("POST", `${realmPath}/modules/user/versions/${stored.active}/impact`, { body: { settings: { script: fixed } } });
  assert.equal(apiImpact.status, 200, JSON.stringify(apiImpact.body));
  assert.equal(apiImpact.body.draft, true);
  assert.deepEqual(apiImpact.body.changes.map((change) => change.user_name), ["ada@acme.com"]);
  assert.match(await page.getByTestId("impact-summary").innerText(), new RegExp(`draft of version ${stored.active}`));
  const row = page.getByTestId("impact-changes").locator(`tr[data-user-id="${adaId}"]`);
  assert.match(await row.innerText(), /acme-sales[\s\S]*acme/);
  assert.equal(await page.getByTestId("impact-changes").locator("tbody tr").count(), apiImpact.body.changed);
  await shot("impact-draft");

  // Uploaded: stored as the next version with exactly that script; the draft is gone.
  await page.getByRole("link", { name: "Rules", exact: true }).click();
  await page.getByTestId("script-editor").locator(".cm-content").waitFor();
  await page.getByLabel("Module (.wasm)").setInputFiles(join(modulesDir, "js_rules.wasm"));
  await page.getByLabel("Note (what changed)").fill("sales go to acme");
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByTestId("uploaded").waitFor({ timeout: 60_000 });
  const after = (await call("GET", `${realmPath}/modules/user/versions`)).body;
  const uploaded = after.versions[after.versions.length - 1];
  assert.equal(uploaded.version, stored.versions.length + 1);
  assert.equal(uploaded.settings.script, fixed);
  assert.equal(uploaded.note, "sales go to acme");
  assert.equal(after.active, stored.active, "an upload does not activate");
  assert.equal(await page.getByTestId("draft-actions").count(), 0);
  await shot("rules-js-editor", { full: false });

  // TypeScript: the types are stripped before the script goes into the settings; an error is marked at its line.
  await page.getByLabel("TypeScript").check();
  const typed = fixed.replace("export function decideUser(user, context) {", "export function decideUser(user: User, context: Context): Decision {");
  assert.notEqual(typed, fixed);
  await replaceScript(`type User = any;\ntype Context = any;\ntype Decision = any;\n${typed}`);
  await page.getByTestId("draft-actions").waitFor();
  await replaceScript(`type User = any;\nconst oops: = 1;\n${typed}`);
  const tsError = page.getByTestId("typescript-error");
  await tsError.waitFor();
  assert.match(await tsError.innerText(), /line 2, column \d+/);
  const tsMarked = await marked.first().evaluate((element) => element.closest(".cm-line").textContent);
  assert.equal(tsMarked, "const oops: = 1;");
  await page.getByRole("button", { name: "Discard the draft" }).click();
  await page.getByTestId("draft-actions").waitFor({ state: "detached" });
});

test("a key revoked while signed in is refused with the API's message", async () => {
  const created = await call("POST", "/v1/tenants/demo/keys", { body: { kind: "admin", label: "console e2e" } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Tenant id").fill("demo");
  await page.getByLabel("Admin key").fill(created.body.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Realms of demo" }).waitFor();
  assert.equal((await call("DELETE", `/v1/tenants/demo/keys/${created.body.key.id}`)).status < 300, true);
  const refused = await call("GET", "/v1/tenants/demo/realms", { key: created.body.token });
  assert.equal(refused.status, 401);
  await page.reload();
  await page.getByRole("alert").filter({ hasText: refused.body.error.message }).waitFor();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Tenant id").waitFor();
});

test("no key is kept in persistent storage, a cookie or a URL", async () => {
  await page.getByLabel("Tenant id").fill("demo");
  await page.getByLabel("Admin key").fill(adminKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Realms of demo" }).waitFor();
  const storage = await page.evaluate(() => ({
    local: Object.keys(localStorage).map((key) => key + "=" + localStorage.getItem(key)),
    session: Object.keys(sessionStorage).map((key) => key + "=" + sessionStorage.getItem(key)),
    cookie: document.cookie,
  }));
  assert.deepEqual(storage.local, [], "localStorage is empty");
  assert.equal(storage.cookie, "");
  assert.ok(storage.session.join().includes(adminKey), "the key lives in the tab's sessionStorage");
  assert.deepEqual((await context.cookies()).map((cookie) => cookie.name), []);
  // A key is mk_<id>_<secret>; the id has no underscore, the secret (URL-safe base64) may have
  // some, so its secret is everything after the second underscore, not after the last one.
  const secrets = [adminKey, evalKey, adminKey.slice(adminKey.indexOf("_", "mk_".length) + 1)];
  assert.ok(secrets.every((secret) => secret.length >= 40), "whole keys and secrets, not fragments");
  // The SCIM client secrets the console showed: in no storage and no URL either.
  assert.equal(scimSecrets.length, 2, "the SCIM test showed a created and a rotated secret");
  assert.ok(scimSecrets.every((secret) => secret.length >= 20), "whole SCIM secrets");
  for (const secret of scimSecrets) assert.ok(!storage.session.join().includes(secret), "no SCIM secret in sessionStorage");
  secrets.push(...scimSecrets);
  for (const url of urls) for (const secret of secrets) assert.ok(!url.includes(secret), `a URL holds a key: ${url}`);
  assert.ok(urls.length > 10, "the URLs of the whole session were watched");

  // Signing out forgets the key in this tab too.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Tenant id").waitFor();
  assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage)), []);
});

test("every page works on a narrow window without sideways scrolling", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByLabel("Tenant id").fill("demo");
  await page.getByLabel("Admin key").fill(adminKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  for (const [hash, heading] of [
    ["#/realms/entra", /overview/],
    ["#/realms/entra/rules/user", /Rules/],
    ["#/realms/entra/test", /Test panel/],
    ["#/realms/entra/decisions", /Decisions/],
    ["#/realms/entra/shadow", /Shadow/],
    ["#/realms/entra/impact", /Impact preview/],
    ["#/realms/entra/backtest", /Backtest/],
    ["#/realms/entra/users", /Users/],
    [`#/realms/entra/users/${erin.user_id}`, /erin@acme\.com/],
    ["#/realms/entra/scim", /SCIM/],
    ["#/keys", /API keys/],
    ["#/audit", /Audit log/],
    ["#/retention", /Decision retention/],
  ]) {
    await page.goto(`${base}/console/${hash}`);
    await page.getByRole("heading", { level: 1, name: heading }).waitFor();
    await page.waitForLoadState("networkidle");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    // Which elements reach past the window's right edge (the innermost first), to say what is too wide.
    const wide = overflow <= 0 ? [] : await page.evaluate(() =>
      [...document.querySelectorAll("body *")]
        .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 1)
        .filter((element) => {
          for (let above = element.parentElement; above; above = above.parentElement) {
            if (getComputedStyle(above).overflowX !== "visible") return false;
          }
          return true;
        })
        .reverse()
        .slice(0, 5)
        .map((element) => `${element.tagName.toLowerCase()}.${element.className}: ${element.textContent.slice(0, 60)}`),
    );
    assert.ok(overflow <= 0, `${hash} scrolls sideways by ${overflow}px at 390px: ${wide.join(" | ")}`);
    if (hash === "#/realms/entra") await shot("narrow-overview");
  }
  await page.setViewportSize({ width: 1280, height: 800 });
});

test("the browser reported no script error and no Content-Security-Policy violation", () => {
  assert.deepEqual(unexpectedProblems(), []);
});
