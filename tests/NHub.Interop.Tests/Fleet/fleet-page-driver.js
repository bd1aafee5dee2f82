// Drives the fleet page in headless Chromium (Debian's chromium, through playwright-core) for FleetPageBrowserTests.
// Usage: node fleet-page-driver.js <base-url> <api-key> <device-id> <screenshot.png>
// Protocol on stdout/stdin: prints "logged-in" once the page shows the fleet without the device; waits for the line
// "posted" on stdin (the test has sent the CoAP POST); waits until the device's row says online and its last
// telemetry is shown; saves a full-page screenshot; prints "done". Any failure prints "error: ..." and exits 1.
"use strict";
const { chromium } = require("playwright-core");
const readline = require("node:readline");

const [baseUrl, apiKey, deviceId, screenshot] = process.argv.slice(2);
const deadlineMs = 30000;

function nextLine(expected) {
  const rl = readline.createInterface({ input: process.stdin });
  return new Promise((resolve, reject) => {
    // Standard input is released once the line came, or node would wait on it for ever.
    rl.on("line", line => { if (line.trim() === expected) { resolve(); rl.close(); process.stdin.destroy(); } });
    rl.on("close", () => reject(new Error("stdin closed before '" + expected + "'")));
  });
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    // Root in a container: Chromium's sandbox needs user namespaces it may not have.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems = [];
    page.on("pageerror", e => problems.push("page error: " + e.message));
    page.on("console", m => { if (m.type() === "error") problems.push("console error: " + m.text()); });

    await page.goto(baseUrl + "/fleet", { timeout: deadlineMs });
    // A wrong key is refused on the login form.
    await page.fill("#api-key", "not-the-key-0123456789");
    await page.click("#login-button");
    await page.waitForFunction(() => document.getElementById("login-error").textContent.includes("not valid"), null, { timeout: deadlineMs });
    problems.length = 0; // the 401 above is logged by the browser as a failed resource load

    await page.fill("#api-key", apiKey);
    await page.click("#login-button");
    await page.waitForSelector("#fleet:not([hidden])", { timeout: deadlineMs });
    await page.waitForFunction(() => document.getElementById("total-devices").textContent !== "–", null, { timeout: deadlineMs });
    if (await page.locator(`#devices tr[data-device-id="${deviceId}"]`).count() !== 0) throw new Error(deviceId + " is listed before the POST");
    const key = await page.evaluate(() => sessionStorage.getItem("nhub.fleet.apiKey"));
    if (key !== apiKey) throw new Error("the API key is not in sessionStorage");
    console.log("logged-in");

    await nextLine("posted");
    await page.click("#refresh");
    await page.waitForSelector(`#devices tr[data-device-id="${deviceId}"][data-online="true"]`, { timeout: deadlineMs });
    await page.waitForFunction(id => {
      const row = document.querySelector(`#recent tr[data-device-id="${id}"]`);
      return row !== null && row.textContent.includes("23.5");
    }, deviceId, { timeout: deadlineMs });
    await page.waitForSelector("#gateways tr[data-gateway-id]", { timeout: deadlineMs });

    // The filters: offline hides the device, then the id prefix finds it again.
    await page.selectOption("#f-status", "offline");
    await page.waitForSelector(`#devices tr[data-device-id="${deviceId}"]`, { state: "detached", timeout: deadlineMs });
    await page.selectOption("#f-status", "");
    await page.fill("#f-prefix", deviceId.slice(0, 5));
    await page.waitForSelector(`#devices tr[data-device-id="${deviceId}"]`, { timeout: deadlineMs });

    await page.screenshot({ path: screenshot, fullPage: true });
    if (problems.length > 0) throw new Error(problems.join("; "));
    console.log("online-text " + (await page.textContent("#total-online")));
    console.log("done");
  } finally {
    await browser.close();
  }
})().catch(e => { console.log("error: " + (e && e.stack || e)); process.exit(1); });
