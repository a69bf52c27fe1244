// The dashboard in a real browser: `loket-sync serve --demo` (three demo employers in the local Loket and
// Personio) driven in Debian's Chromium by Playwright. Screenshots of the employers page, a plan and the
// mapping page go to docs/screenshots/ (the README shows them).
//
//   cd browser && npm ci && npm test        (LOKET_SYNC_BIN names the binary; default ../target/debug)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.LOKET_SYNC_BIN ?? join(here, '..', 'target', 'debug', 'loket-sync');
const screenshots = join(here, '..', 'docs', 'screenshots');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

let server;
let base;
let adminPassword;
let browser;
const seen = []; // every page's HTML, to look for secrets at the end

/** Starts `serve --demo` on a free port; resolves with its address and the admin password it prints. */
function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['serve', '--demo', '--no-scheduler', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => reject(new Error(`serve --demo did not start:\n${output}`)), 60_000);
    const read = (chunk) => {
      output += chunk.toString();
      const password = output.match(/log in as admin with the password (\S+)/);
      const address = output.match(/loket-sync serves on (http:\/\/\S+)/);
      if (password && address) {
        clearTimeout(timer);
        resolve({ child, base: address[1], password: password[1] });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => reject(new Error(`serve --demo exited with ${code}:\n${output}`)));
  });
}

before(async () => {
  mkdirSync(screenshots, { recursive: true });
  const started = await startServer();
  server = started.child;
  base = started.base;
  adminPassword = started.password;
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    // Playwright starts Chromium with a fresh, empty --user-data-dir of its own (removed at close).
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

async function newPage(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, locale: 'en-GB' });
  const page = await context.newPage();
  page.on('load', async () => {
    try { seen.push({ url: page.url(), html: await page.content() }); } catch { /* navigated on */ }
  });
  return page;
}

async function logIn(page, name, password) {
  await page.goto(`${base}/`);
  assert.match(page.url(), /\/login\?next=/, 'a page without a session sends the browser to the login page');
  await page.fill('#name', name);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/`), page.click('main form button[type=submit]')]);
}

/** A form post from inside the page (same origin, the session cookie goes along), as a forged form would. */
async function postForm(page, path, fields) {
  return page.evaluate(async ({ path, fields }) => {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });
    return response.status;
  }, { path, fields });
}

async function planNow(page, employer) {
  await page.goto(`${base}/employers/${employer}`);
  await Promise.all([page.waitForURL(/\/plans\/\d+\?notice=planned/), page.click('button:has-text("Plan now")')]);
  return Number(page.url().match(/\/plans\/(\d+)/)[1]);
}

let admin;
let firstPlan;

test('an admin logs in and sees the demo employers with their states', async () => {
  admin = await newPage();
  await logIn(admin, 'admin', adminPassword);
  const rows = admin.locator('tr[data-employer]');
  assert.equal(await rows.count(), 3);
  for (const state of await admin.locator('tr[data-employer] [data-state]').allTextContents()) {
    assert.equal(state, 'not planned yet');
  }
});

test('a pending plan shows a salary-gap issue and a withheld change, filters, and the CSV', async () => {
  firstPlan = await planNow(admin, 1);
  assert.equal(await admin.locator('[data-status]').getAttribute('data-status'), 'pending');
  const gap = admin.locator('section.issue-group[data-code="salary_gap"]');
  await gap.waitFor();
  assert.match(await gap.textContent(), /What to do/);
  assert.ok(await admin.locator('ul.withheld li[data-reason]').count() > 0, 'a withheld change with its reason');
  assert.ok(await admin.locator('table.changes a.rule[href^="/rules#"]').count() > 0, 'rules link to their text');
  await admin.screenshot({ path: join(screenshots, 'plan.png') });

  const all = await admin.locator('section.employee[data-employee]').count();
  await admin.selectOption('#only', 'errors');
  await Promise.all([admin.waitForURL(/only=errors/), admin.click('button:has-text("Apply filter")')]);
  const errors = await admin.locator('section.employee[data-employee]').count();
  assert.ok(errors >= 1 && errors < all, `only errors: ${errors} of ${all}`);
  assert.ok(await admin.locator('section.employee[data-employee] .sev.error').count() >= errors);

  const csv = await admin.evaluate(async (path) => (await fetch(path)).text(), `/plans/${firstPlan}/csv`);
  assert.match(csv, /^employee_number,name,person,status,rule_or_code,change_or_message\n/);
  assert.match(csv, /salary_gap/);
});

test('approving applies the plan and the history shows the writes and the audit entries', async () => {
  await admin.goto(`${base}/plans/${firstPlan}`);
  await admin.fill('#comment', 'Checked against the HR export');
  await Promise.all([admin.waitForURL(/notice=applied/), admin.click('button.primary:has-text("Approve")')]);
  assert.equal(await admin.locator('[data-status]').getAttribute('data-status'), 'applied');
  assert.match(await admin.locator('ul.approvals').textContent(), /Checked against the HR export/);

  await admin.goto(`${base}/history`);
  const audit = await admin.locator('table.audit').textContent();
  assert.match(audit, /plan approved/);
  assert.match(audit, /plan made/);

  await admin.goto(`${base}/employers/1/history`);
  const writes = admin.locator('table.journal tbody tr');
  assert.ok(await writes.count() > 0, 'the journal of the writes');
  const employee = await writes.first().getAttribute('data-employee');
  await admin.fill('#employee', employee);
  await Promise.all([admin.waitForURL(/employee=/), admin.click('form[role=search] button')]);
  const shown = await admin.locator('table.journal tbody tr').evaluateAll((rows) => rows.map((row) => row.dataset.employee));
  assert.ok(shown.length > 0 && shown.every((number) => number === employee), `only employee ${employee}: ${shown}`);
  assert.match(await admin.locator('table.journal').textContent(), /Loket's answer/);
});

test('another plan is rejected with a comment; the employers page shows every state', async () => {
  await planNow(admin, 2);
  await admin.fill('#comment', 'Wait for the new contracts');
  await Promise.all([admin.waitForURL(/notice=rejected/), admin.click('button.danger:has-text("Reject")')]);
  assert.equal(await admin.locator('[data-status]').getAttribute('data-status'), 'rejected');
  await planNow(admin, 3);
  await admin.goto(`${base}/`);
  const states = await admin.locator('tr[data-employer] [data-state]').allTextContents();
  assert.deepEqual(states, ['failing', 'last plan rejected', 'changes waiting for approval']);
  await admin.screenshot({ path: join(screenshots, 'employers.png') });
});

test('a mapping with an invalid component shows the error at its field; a valid one is saved', async () => {
  await admin.goto(`${base}/employers/1/mapping`);
  // Bonus (one-time, row 3) to the component Car allowance (recurring, row 0) writes to: K5 refuses it.
  const recurring = await admin.inputValue('[id="mappings[0].benefit_component"]');
  assert.equal(await admin.inputValue('[id="mappings[3].personio_type"]'), 'Bonus');
  await admin.selectOption('[id="mappings[3].benefit_component"]', recurring);
  await admin.click('button.primary:has-text("Save")');
  await admin.locator('.field-error').first().waitFor();
  const invalid = await admin.locator('.mapping-row .field.invalid').count();
  assert.ok(invalid >= 1, 'the error is at the mapping field');
  assert.match(await admin.locator('p.error').first().textContent(), /Nothing was saved/);
  await admin.screenshot({ path: join(screenshots, 'mapping.png'), fullPage: false });
  await admin.locator('.mapping-row .field.invalid').first().scrollIntoViewIfNeeded();
  await admin.screenshot({ path: join(screenshots, 'mapping-error.png') });

  await admin.goto(`${base}/employers/1/mapping`);
  await admin.fill('#horizon_months', '6');
  await Promise.all([admin.waitForURL(/notice=saved/), admin.click('button.primary:has-text("Save")')]);
  assert.equal(await admin.inputValue('#horizon_months'), '6');
  // Every field of the form has a label.
  const unlabelled = await admin.locator('form.mapping input:not([type=hidden]), form.mapping select').evaluateAll(
    (fields) => fields.filter((field) => field.labels.length === 0).map((field) => field.name));
  assert.deepEqual(unlabelled, []);
});

test('an admin logs in to Loket through the local Loket authorize page', async () => {
  await admin.goto(`${base}/employers/1/connect`);
  assert.equal(await admin.inputValue('#personio_client_secret'), '', 'secrets are write-only');
  await admin.click('button:has-text("Log in to Loket")');
  await admin.waitForSelector('text=Loket (local emulator)');
  await Promise.all([admin.waitForURL(`${base}/?notice=loket_login_done`), admin.click('button:has-text("Allow")')]);
  assert.match(await admin.locator('p.notice').textContent(), /Logged in to Loket/);
  await admin.goto(`${base}/history?q=loket+login`);
  assert.match(await admin.locator('table.audit').textContent(), /loket login done/);
});

test('a form post without a valid CSRF token is refused', async () => {
  await admin.goto(`${base}/`);
  const link = await admin.locator('tr[data-employer] a:has-text("Open")').first().getAttribute('href');
  const plan = link.match(/\/plans\/(\d+)/)[1];
  assert.equal(await postForm(admin, `/plans/${plan}/approve`, { comment: 'no token' }), 403);
  assert.equal(await postForm(admin, `/plans/${plan}/approve`, { csrf: 'forged', comment: 'wrong token' }), 403);
  assert.equal(await postForm(admin, '/users', { name: 'mallory', role: 'admin', password: 'long enough password' }), 403);
  await admin.goto(`${base}/plans/${plan}`);
  assert.equal(await admin.locator('[data-status]').getAttribute('data-status'), 'pending');
});

test('a viewer sees no approve button and is refused when posting anyway', async () => {
  await admin.goto(`${base}/users`);
  await admin.fill('#new_name', 'vera');
  await admin.selectOption('#new_role', 'viewer');
  await admin.fill('#new_password', 'viewer password 2026');
  await Promise.all([admin.waitForURL(/notice=user_added/), admin.click('main form button:has-text("Add")')]);
  await admin.goto(`${base}/`);
  const link = await admin.locator('tr[data-employer] a:has-text("Open")').first().getAttribute('href');

  const viewer = await newPage();
  await logIn(viewer, 'vera', 'viewer password 2026');
  await viewer.goto(`${base}${link}`);
  assert.equal(await viewer.locator('button:has-text("Approve")').count(), 0);
  assert.match(await viewer.locator('main').textContent(), /an operator approves it/);
  const csrf = await viewer.inputValue('form[action="/logout"] input[name=csrf]');
  assert.equal(await postForm(viewer, `${link}/approve`, { csrf }), 403, 'a viewer cannot approve, even with a valid token');
  await viewer.goto(`${base}${link}`);
  assert.equal(await viewer.locator('[data-status]').getAttribute('data-status'), 'pending');
  await viewer.context().close();
});

test('pages work on a 390-px phone, show focus, and speak Dutch', async () => {
  const phone = await newPage({ width: 390, height: 844 });
  await logIn(phone, 'admin', adminPassword);
  for (const path of ['/', `/plans/${firstPlan}`, '/employers/1/mapping', '/history']) {
    await phone.goto(`${base}${path}`);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the phone`);
  }
  await phone.goto(`${base}/`);
  await phone.screenshot({ path: join(screenshots, 'employers-phone.png') });
  await phone.keyboard.press('Tab');
  const outline = await phone.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused element is outlined');

  await phone.click('a:has-text("Nederlands")');
  await phone.waitForSelector('h1:has-text("Werkgevers")');
  assert.equal(await phone.getAttribute('html', 'lang'), 'nl');
  await phone.context().close();
});

test('no page the browser saw holds a secret', () => {
  assert.ok(seen.length > 20, `${seen.length} pages seen`);
  for (const { url, html } of seen) {
    for (const secret of ['demo-secret', adminPassword, 'viewer password 2026', 'refresh_token', 'access_token']) {
      assert.ok(!html.includes(secret), `${url} shows ${secret}`);
    }
  }
});
