//! A real browser for the console's tests: Debian's headless Chromium
//! driven over WebDriver (chromedriver, fantoccini). Every step can keep a
//! screenshot under `target/browser-screenshots/<test>/`, and every page
//! can be checked for what a keyboard or screen reader user needs.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long a page may take to show what a step waits for.
const WAIT: Duration = Duration::from_secs(30);

/// A headless Chromium of one test.
pub struct Browser {
    client: Client,
    driver: Child,
    shots: PathBuf,
    step: AtomicU32,
    downloads: PathBuf,
    _dir: tempfile::TempDir,
}

/// `target/` of the running test binary.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let mut dir = exe.parent().expect("a folder").to_path_buf();
    while dir.file_name().is_some_and(|n| n != "target") {
        if !dir.pop() {
            break;
        }
    }
    dir
}

impl Browser {
    /// Starts chromedriver and a browser window of 1280×900 for `test`.
    pub async fn start(test: &str) -> Browser {
        Self::start_with(test, &[]).await
    }

    /// The same, trusting the TLS certificate in `pem` (only it) as a
    /// browser that was given the deployment's CA would.
    pub async fn trusting(test: &str, pem: &Path) -> Browser {
        let pin = spki_pin(pem);
        Self::start_with(
            test,
            &[format!("--ignore-certificate-errors-spki-list={pin}")],
        )
        .await
    }

    /// Starts the browser with more command line switches.
    pub async fn start_with(test: &str, extra: &[String]) -> Browser {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = allot_platform::testing::free_port();
        let log = std::fs::File::create(dir.path().join("chromedriver.log")).expect("log");
        let driver = Command::new(std::env::var("ALLOT_TEST_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
            .arg(format!("--port={port}"))
            // Its own process group: stopping it stops every browser
            // process it started, even after a failed test.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start chromedriver (apt-get install chromium chromium-driver, or run tests/run-all.sh)");
        let downloads = dir.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("downloads folder");
        let url = format!("http://127.0.0.1:{port}");
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            "--no-first-run",
            "--password-store=basic",
            "--disable-extensions",
            "--lang=en-US",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        args.push(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ));
        args.extend(extra.iter().cloned());
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": std::env::var("ALLOT_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": args,
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            }),
        );
        caps.insert("unhandledPromptBehavior".into(), json!("ignore"));
        let deadline = Instant::now() + WAIT;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) => {
                    assert!(
                        Instant::now() < deadline,
                        "no browser session: {e}; chromedriver said: {}",
                        std::fs::read_to_string(dir.path().join("chromedriver.log"))
                            .unwrap_or_default()
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        let shots = target_dir().join("browser-screenshots").join(test);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).expect("screenshot folder");
        Browser {
            client,
            driver,
            shots,
            step: AtomicU32::new(0),
            downloads,
            _dir: dir,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url` and waits until the page has loaded.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("open the page");
    }

    /// The current address's path and query.
    pub async fn path(&self) -> String {
        let u = self.client.current_url().await.expect("url");
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        }
    }

    /// Types `text` into the field `css` (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no field {css}: {e}"));
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    /// Clicks the element `css`.
    pub async fn click(&self, css: &str) {
        let e = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing to click at {css}: {e}"));
        e.click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks a button that asks for confirmation, and confirms.
    pub async fn click_and_confirm(&self, css: &str) {
        self.click(css).await;
        let deadline = Instant::now() + WAIT;
        while self.client.accept_alert().await.is_err() {
            assert!(Instant::now() < deadline, "no confirmation asked at {css}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends keys to whatever has the focus (`\u{e004}` is Tab,
    /// `\u{e007}` Enter).
    pub async fn keys(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .expect("something has the focus")
            .send_keys(keys)
            .await
            .expect("keys");
    }

    /// The id of the element that has the focus.
    pub async fn active_id(&self) -> String {
        match self.client.active_element().await {
            Ok(e) => e.attr("id").await.ok().flatten().unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Ticks the checkbox whose label, inside `container`, says `text`.
    pub async fn tick(&self, container: &str, text: &str) {
        let ticked = self
            .client
            .execute(
                "for (const l of document.querySelectorAll(arguments[0] + ' label')) {
                   if (l.textContent.includes(arguments[1])) { l.querySelector('input').click(); return true; }
                 }
                 return false;",
                vec![json!(container), json!(text)],
            )
            .await
            .expect("tick");
        assert_eq!(
            ticked,
            json!(true),
            "no box labelled {text:?} in {container}"
        );
    }

    /// Chooses `path` in the file field `css`.
    pub async fn choose_file(&self, css: &str, path: &Path) {
        let e = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no file field {css}: {e}"));
        e.send_keys(&path.display().to_string())
            .await
            .expect("choose the file");
    }

    /// The page's visible text (empty while a page is loading).
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The visible text of the element `css`.
    pub async fn text_of(&self, css: &str) -> String {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    /// The value of the field `css`.
    pub async fn value(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no field {css}: {e}"))
            .prop("value")
            .await
            .expect("value")
            .unwrap_or_default()
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// Waits until the page's text contains `needle`, then returns it.
    pub async fn wait_text(&self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "the page at {} never said {needle:?}; it says:\n{text}",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the address's path starts with `prefix`.
    pub async fn wait_path(&self, prefix: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let p = self.path().await;
            if p.starts_with(prefix) {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "still at {p}, not {prefix}: {}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Keeps a screenshot of the page as `NN-name.png`.
    pub async fn shot(&self, name: &str) -> PathBuf {
        let n = self.step.fetch_add(1, Ordering::SeqCst) + 1;
        let png = self.client.screenshot().await.expect("screenshot");
        let path = self.shots.join(format!("{n:02}-{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Sets the window to `width`×`height` (a phone is 390×844).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize");
    }

    /// What a keyboard or screen reader user needs of every page: the
    /// language, one main heading, a label for every field, names for
    /// images, and nothing wider than the window. Returns the problems.
    pub async fn accessibility_problems(&self) -> Vec<String> {
        let found = self
            .client
            .execute(
                r#"
const problems = [];
if (!document.documentElement.lang) problems.push("no lang on <html>");
if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one <h1>");
for (const el of document.querySelectorAll("input, select, textarea")) {
  if (el.type === "hidden") continue;
  const labelled = (el.id && document.querySelector(`label[for="${el.id}"]`))
    || el.closest("label") || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
  if (!labelled) problems.push(`a ${el.tagName.toLowerCase()} named ${el.name} has no label`);
}
for (const svg of document.querySelectorAll("svg")) {
  if (!svg.getAttribute("aria-label") && !svg.querySelector("title")) problems.push("an svg without a name");
}
for (const b of document.querySelectorAll("button, a")) {
  if (!b.textContent.trim() && !b.getAttribute("aria-label")) problems.push("a button or link without words");
}
if (document.documentElement.scrollWidth > window.innerWidth + 1) {
  problems.push(`the page is ${document.documentElement.scrollWidth}px wide in a ${window.innerWidth}px window`);
}
return problems;
"#,
                vec![],
            )
            .await
            .expect("check the page");
        serde_json::from_value(found).unwrap_or_default()
    }

    /// Waits for a downloaded file whose name starts with `prefix`; its
    /// bytes.
    pub async fn downloaded(&self, prefix: &str) -> Vec<u8> {
        let deadline = Instant::now() + WAIT;
        loop {
            let done = std::fs::read_dir(&self.downloads)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .find(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                    name.starts_with(prefix) && !name.ends_with(".crdownload")
                });
            if let Some(p) = done {
                return std::fs::read(p).expect("read the download");
            }
            assert!(Instant::now() < deadline, "no download named {prefix}…");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// The base64 SHA-256 of a certificate's public key (what Chromium's
/// `--ignore-certificate-errors-spki-list` takes), by openssl.
fn spki_pin(pem: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(
            "openssl x509 -in \"$0\" -pubkey -noout | openssl pkey -pubin -outform der \
             | openssl dgst -sha256 -binary | openssl base64 -A",
        )
        .arg(pem)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl: {out:?}");
    String::from_utf8(out.stdout)
        .expect("base64")
        .trim()
        .to_owned()
}

impl Drop for Browser {
    /// Stops chromedriver and every browser process of its group.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.wait();
    }
}
