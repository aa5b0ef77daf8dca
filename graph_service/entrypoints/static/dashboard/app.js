// The planners' dashboard (spec §8): search, drill-down with a breadcrumb, one date for every panel,
// coverage per level, the children sortable by coverage, the trend chart, the roll-up, the gap list
// (paged, downloadable) and the stations of a division. State lives in the URL hash
// (#code=52&asOf=2021-12-31), so the back button and bookmarks work.
import { NeedsToken, download, graphql, setToken, token } from "./api.js";
import { drawTrend } from "./chart.js";
import { lang, number, percent, relabel, setLang, t } from "./i18n.js";

const LEVELS = ["province", "city", "county", "township", "village"];
const TREND_LEVELS = ["township", "village"];
const GAP_LEVELS = ["county", "township", "village"];
const GAP_PAGE = 20;
const ROOT_LEVEL_BY_LENGTH = { 2: "province", 4: "city", 6: "county", 9: "township", 12: "village" };
const TREND_START = "2000-01-31";
const TREND_END = "2025-12-31";

const $ = (id) => document.getElementById(id);
const state = {
  code: null, level: null, asOf: today(), division: null, children: [], trend: null, trendKey: null,
  sort: { key: null, descending: false }, gapLevel: null, gapCursors: [null], gapPage: 0, gapTotal: 0,
  seq: 0,
};

/** Today in Asia/Shanghai (the service's default time zone), as YYYY-MM-DD. */
function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date());
}

function element(name, attributes = {}, ...children) {
  const made = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") made.className = value;
    else if (key.startsWith("on")) made.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) made.setAttribute(key, value);
  }
  made.append(...children.filter((c) => c !== null && c !== undefined));
  return made;
}

const levelName = (level) => t(`level.${level.toLowerCase()}`);

function bar(rate) {
  const fill = element("span", { class: "fill" });
  fill.style.width = `${Math.round((rate ?? 0) * 1000) / 10}%`;
  return element("span", { class: "bar", role: "presentation" }, fill);
}

function divisionLink(division) {
  return element("a", {
    href: `#code=${division.code}&asOf=${state.asOf}`, "data-code": division.code,
    onclick: (event) => { event.preventDefault(); go(division.code, division.level.toLowerCase()); },
  }, division.name);
}

// --- loading ------------------------------------------------------------------------------------

const DIVISION_QUERY = `query Division($code: String!, $asOf: Date) {
  division(code: $code) {
    code name level
    ancestors { code name level }
    coverage(asOf: $asOf) { level total covered rate }
    rollup(asOf: $asOf) { guidanceCentres generalStations townshipStations villageRooms staff certifiedStaff volunteers }
    children(first: 100, asOf: $asOf) { pageInfo { hasNextPage endCursor } edges { node {
      code name level covered(asOf: $asOf) coverage(asOf: $asOf) { level total covered rate } } } }
    stations(first: 100) { totalCount edges { node { id name level status openedOn closedOn staff } } }
  }
}`;
const MORE_CHILDREN = `query Children($code: String!, $asOf: Date, $after: String) {
  division(code: $code) { children(first: 100, after: $after, asOf: $asOf) { pageInfo { hasNextPage endCursor } edges { node {
    code name level covered(asOf: $asOf) coverage(asOf: $asOf) { level total covered rate } } } } }
}`;
const trendQuery = (levels) => `query Trend($code: String!, $from: Date!, $to: Date!) {
  division(code: $code) { ${levels.map((l) => `${l}: coverageTrend(level: ${l.toUpperCase()}, from: $from, to: $to) { date total covered rate }`).join(" ")} }
}`;
const GAP_QUERY = `query Gaps($code: String!, $level: DivisionLevel!, $asOf: Date, $after: String) {
  uncoveredDivisions(under: $code, level: $level, asOf: $asOf, first: ${GAP_PAGE}, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { code name ancestors { name } } }
  }
}`;
const SEARCH_QUERY = `query Search($text: String!, $code: String!) {
  byCode: division(code: $code) { code name level ancestors { name } }
  divisions(nameContains: $text, first: 20) { edges { node { code name level ancestors { name } } } }
}`;

/** Show the division `code` (its level, when known, lets every panel load at once). */
function go(code, level = null) {
  const hash = `#code=${encodeURIComponent(code)}&asOf=${state.asOf}`;
  state.pendingLevel = level;
  if (location.hash !== hash) location.hash = hash;
  else load();
}

async function load() {
  const params = new URLSearchParams(location.hash.slice(1));
  const code = params.get("code") || "52";
  const asOf = params.get("asOf");
  if (asOf && /^\d{4}-\d{2}-\d{2}$/.test(asOf)) state.asOf = asOf;
  $("asof").value = state.asOf;
  const level = state.pendingLevel || (code === state.code ? state.level : ROOT_LEVEL_BY_LENGTH[code.length]);
  state.pendingLevel = null;
  if (code !== state.code) {
    state.gapLevel = null;
    state.sort = { key: null, descending: false };
  }
  const seq = ++state.seq;
  document.body.dataset.state = "loading";
  performance.mark(`load-start-${seq}`);
  try {
    early.clear();
    const main = loadDivision(code);
    // Started alongside the division when its level is known; checked (and redone) once it is.
    const trend = level ? loadTrend(code, level).catch(() => null) : null;
    if (level) {
      const { gapLevel, after } = gapChoice(level);
      if (gapLevel) prefetch(GAP_QUERY, gapVariables(code, gapLevel, after));
    }
    const division = await main;
    if (seq !== state.seq) return;
    if (!division) {
      showError(`${t("failed")}${code}`);
      return;
    }
    state.code = division.code;
    state.level = division.level.toLowerCase();
    state.division = division;
    renderDivision();
    const gaps = loadGaps(seq);
    await Promise.all([trend ? trend.then(() => loadTrend(code, state.level)) : loadTrend(code, state.level), gaps]);
    if (seq !== state.seq) return;
    renderTrend();
    // For readers of the page (tests, the speed script): which view is drawn, and when.
    document.body.dataset.view = `${state.code} ${state.asOf}`;
    document.body.dataset.drawnAt = String(performance.now());
    document.body.dataset.state = "ready";
    performance.mark(`load-end-${seq}`);
    performance.measure("view", `load-start-${seq}`, `load-end-${seq}`);
  } catch (error) {
    if (seq === state.seq) fail(error);
  }
}

async function loadDivision(code) {
  const data = await graphql(DIVISION_QUERY, { code, asOf: state.asOf });
  const division = data.division;
  if (!division) return null;
  const children = division.children.edges.map((e) => e.node);
  let page = division.children.pageInfo;
  while (page.hasNextPage) {
    const more = await graphql(MORE_CHILDREN, { code, asOf: state.asOf, after: page.endCursor });
    children.push(...more.division.children.edges.map((e) => e.node));
    page = more.division.children.pageInfo;
  }
  division.children = children;
  return division;
}

/** The trend of the township and village rates below `code` (kept: it does not depend on the date). */
async function loadTrend(code, level) {
  const levels = TREND_LEVELS.filter((l) => LEVELS.indexOf(l) > LEVELS.indexOf(level));
  const to = state.asOf > TREND_END ? monthEnd(state.asOf) : TREND_END;
  const key = `${code} ${levels} ${to}`;
  if (state.trendKey === key) return;
  const data = levels.length ? await graphql(trendQuery(levels), { code, from: TREND_START, to }) : null;
  state.trend = levels.map((l) => ({ key: l, points: data.division[l] }));
  state.trendKey = key;
}

function monthEnd(iso) {
  const [year, month] = iso.split("-").map(Number);
  return new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10);
}

/** The gap list's level for a division of `level` (kept while it applies) and the page's cursor. */
function gapChoice(level) {
  const levels = GAP_LEVELS.filter((l) => LEVELS.indexOf(l) > LEVELS.indexOf(level));
  if (levels.includes(state.gapLevel)) return { levels, gapLevel: state.gapLevel, after: state.gapCursors[state.gapPage] };
  return { levels, gapLevel: levels.includes("township") ? "township" : levels[0] || null, after: null };
}

const gapVariables = (code, gapLevel, after) => ({ code, level: gapLevel.toUpperCase(), asOf: state.asOf, after });

async function loadGaps(seq) {
  const { levels, gapLevel } = gapChoice(state.level);
  if (gapLevel !== state.gapLevel) {
    state.gapLevel = gapLevel;
    state.gapCursors = [null];
    state.gapPage = 0;
  }
  const select = $("gap-level");
  select.replaceChildren(...levels.map((l) => element("option", { value: l, selected: l === state.gapLevel }, levelName(l))));
  if (!state.gapLevel) {
    $("gaps-card").hidden = true;
    return;
  }
  $("gaps-card").hidden = false;
  const data = await query(GAP_QUERY, gapVariables(state.code, state.gapLevel, state.gapCursors[state.gapPage]));
  if (seq !== undefined && seq !== state.seq) return;
  renderGaps(data.uncoveredDivisions);
}

// Queries started early (before the division's level is confirmed), taken by the first ask for them.
const early = new Map();

function prefetch(text, variables) {
  const answer = graphql(text, variables);
  answer.catch(() => null);
  early.set(text + JSON.stringify(variables), answer);
}

function query(text, variables) {
  const key = text + JSON.stringify(variables);
  const answer = early.get(key);
  early.delete(key);
  return answer || graphql(text, variables);
}

// --- drawing ------------------------------------------------------------------------------------

function renderDivision() {
  const division = state.division;
  $("token").hidden = true;
  $("view").hidden = false;
  $("error").hidden = true;
  const crumbs = [...division.ancestors, division];
  $("crumbs").replaceChildren(...crumbs.flatMap((d, index) => [
    ...(index ? [element("span", { class: "sep" }, "›")] : []),
    index === crumbs.length - 1 ? element("span", { "aria-current": "page" }, d.name) : divisionLink(d),
  ]));
  $("heading").replaceChildren(
    element("span", {}, division.name),
    element("small", {}, ` ${division.code} · ${levelName(division.level)}`),
  );
  renderCoverage();
  renderRollup();
  renderChildren();
  renderStations();
  relabel($("view"));
}

function renderCoverage() {
  const head = element("tr", {}, ...["level", "covered", "total", "rate", ""].map((k) => element("th", {}, k ? t(k) : "")));
  const rows = state.division.coverage.map((c) => element("tr", { "data-level": c.level.toLowerCase() },
    element("th", {}, levelName(c.level)),
    element("td", { class: "num" }, number(c.covered)),
    element("td", { class: "num" }, number(c.total)),
    element("td", { class: "num rate" }, percent(c.rate)),
    element("td", { class: "barcell" }, bar(c.rate))));
  $("coverage").replaceChildren(element("thead", {}, head), element("tbody", {}, ...rows));
}

function renderRollup() {
  const rollup = state.division.rollup;
  const keys = ["guidanceCentres", "generalStations", "townshipStations", "villageRooms", "staffSum", "certifiedStaff", "volunteers"];
  const values = { ...rollup, staffSum: rollup.staff };
  $("rollup").replaceChildren(...keys.flatMap((k) => [
    element("dt", {}, t(k)), element("dd", { "data-key": k }, number(values[k])),
  ]));
}

function childRate(child, level) {
  return child.coverage.find((c) => c.level.toLowerCase() === level) || null;
}

function renderChildren() {
  const children = state.children = [...state.division.children];
  const table = $("children");
  if (!children.length) {
    table.replaceChildren(element("caption", {}, t("noChildren")));
    return;
  }
  const childLevel = children[0].level.toLowerCase();
  const columns = TREND_LEVELS.filter((l) => LEVELS.indexOf(l) > LEVELS.indexOf(childLevel));
  const ownCovered = childLevel !== "province";
  const { key, descending } = state.sort;
  if (key) {
    const value = (child) => childRate(child, key)?.rate;
    children.sort((a, b) => {
      const left = value(a); const right = value(b);
      if (left === null || left === undefined) return 1;
      if (right === null || right === undefined) return -1;
      return (descending ? right - left : left - right) || a.code.localeCompare(b.code);
    });
  }
  const sortHeader = (level) => {
    const sorted = key === level ? (descending ? "descending" : "ascending") : "none";
    const label = level === "township" ? t("townshipRate") : t("villageRate");
    return element("th", { "aria-sort": sorted, "data-sort": level },
      element("button", { type: "button", class: "sort", onclick: () => sortBy(level) },
        `${label} ${sorted === "ascending" ? "▲" : sorted === "descending" ? "▼" : "↕"}`));
  };
  const head = element("tr", {}, element("th", {}, t("name")),
    ownCovered ? element("th", { class: "own" }, t("ownCovered")) : null, ...columns.map(sortHeader));
  const rows = children.map((child) => element("tr", { "data-code": child.code },
    element("td", { class: "namecell" }, divisionLink(child), element("small", { class: "mono" }, child.code)),
    ownCovered ? element("td", { class: "own" }, child.covered ? t("yes") : t("no")) : null,
    ...columns.map((level) => {
      const c = childRate(child, level);
      return element("td", { class: "ratecell", "data-rate": c?.rate ?? "" },
        element("span", { class: "rate" }, percent(c?.rate)),
        element("small", {}, c ? ` ${number(c.covered)}/${number(c.total)}` : ""), bar(c?.rate));
    })));
  table.replaceChildren(element("thead", {}, head), element("tbody", {}, ...rows));
}

function sortBy(level) {
  const { key, descending } = state.sort;
  // First click: lowest coverage first, so the lagging divisions stand out.
  state.sort = key === level ? { key, descending: !descending } : { key: level, descending: false };
  renderChildren();
}

function renderStations() {
  const stations = state.division.stations.edges.map((e) => e.node);
  const table = $("stations");
  if (!stations.length) {
    table.replaceChildren(element("caption", {}, t("noStations")));
    return;
  }
  const total = state.division.stations.totalCount;
  const caption = total > stations.length ? element("caption", {}, t("firstOf", { n: stations.length, total })) : null;
  const head = element("tr", {}, ...["id", "name", "level", "status", "openedOn", "closedOn", "staff"].map((k) => element("th", {}, t(k))));
  const rows = stations.map((s) => element("tr", { "data-id": s.id },
    element("td", { class: "mono" }, s.id), element("td", {}, s.name),
    element("td", {}, t(`station.${s.level.toLowerCase()}`)),
    element("td", { class: `status ${s.status.toLowerCase()}` }, t(`status.${s.status.toLowerCase()}`)),
    element("td", { class: "mono" }, s.openedOn || "—"), element("td", { class: "mono" }, s.closedOn || "—"),
    element("td", { class: "num" }, number(s.staff))));
  table.replaceChildren(...[caption, element("thead", {}, head), element("tbody", {}, ...rows)].filter(Boolean));
}

function renderTrend() {
  const series = (state.trend || []).map((s) => ({
    key: s.key, label: s.key === "township" ? t("townshipRate") : t("villageRate"), points: s.points,
  }));
  $("trend-card").hidden = !series.length;
  if (!series.length) return;
  // From the first station on: drop the months before anything was covered, keeping one zero month
  // (with nothing ever covered, the last two years).
  const length = series[0].points.length;
  const first = Math.min(...series.map((s) => {
    const index = s.points.findIndex((p) => p.covered > 0);
    return index < 0 ? length : index;
  }));
  const start = first < length ? Math.max(0, first - 1) : Math.max(0, length - 25);
  drawTrend($("trend"), series.map((s) => ({ ...s, points: s.points.slice(start) })), state.asOf);
}

function renderGaps(connection) {
  state.gapTotal = connection.totalCount;
  const pages = Math.max(1, Math.ceil(connection.totalCount / GAP_PAGE));
  $("gap-count").textContent = t("countOf", { n: number(connection.totalCount) });
  $("gap-page").textContent = t("pageOf", { p: state.gapPage + 1, n: pages });
  $("gap-prev").disabled = state.gapPage === 0;
  $("gap-next").disabled = !connection.pageInfo.hasNextPage;
  state.gapCursors[state.gapPage + 1] = connection.pageInfo.endCursor;
  const nodes = connection.edges.map((e) => e.node);
  const table = $("gaps");
  if (!nodes.length) {
    table.replaceChildren(element("caption", {}, t("noGaps")));
    return;
  }
  const head = element("tr", {}, element("th", {}, t("code")), element("th", {}, t("name")), element("th", {}, t("path")));
  const rows = nodes.map((d) => element("tr", { "data-code": d.code },
    element("td", { class: "mono" }, d.code), element("td", {}, d.name),
    element("td", { class: "path" }, d.ancestors.map((a) => a.name).join(" / "))));
  table.replaceChildren(element("thead", {}, head), element("tbody", {}, ...rows));
}

function showError(message) {
  $("view").hidden = false;
  $("error").hidden = false;
  $("error").textContent = message;
  document.body.dataset.state = "error";
}

function fail(error) {
  if (error instanceof NeedsToken) {
    askForToken(Boolean(token()));
    return;
  }
  showError(`${t("failed")}${error.message}`);
}

function askForToken(wasRejected) {
  $("view").hidden = true;
  $("token").hidden = false;
  $("token-error").hidden = !wasRejected;
  $("token-error").textContent = t("tokenBad");
  $("token-input").focus();
  document.body.dataset.state = "token";
}

// --- search -------------------------------------------------------------------------------------

let searchTimer = null;
let searchSeq = 0;

async function search(text) {
  const seq = ++searchSeq;
  const list = $("results");
  if (!text.trim()) {
    list.hidden = true;
    return;
  }
  try {
    const data = await graphql(SEARCH_QUERY, { text: text.trim(), code: text.trim() });
    if (seq !== searchSeq) return;
    const found = [data.byCode, ...data.divisions.edges.map((e) => e.node)].filter(Boolean);
    const unique = found.filter((d, i) => found.findIndex((o) => o.code === d.code) === i);
    list.replaceChildren(...(unique.length ? unique.map((d) => element("li", { role: "option", "data-code": d.code },
      element("button", { type: "button", onclick: () => { list.hidden = true; $("search").value = ""; go(d.code, d.level.toLowerCase()); } },
        element("strong", {}, d.name), " ",
        element("small", {}, `${d.code} · ${levelName(d.level)} · ${d.ancestors.map((a) => a.name).join(" / ")}`))))
      : [element("li", { class: "empty" }, t("noResults"))]));
    list.hidden = false;
  } catch (error) {
    fail(error);
  }
}

// --- wiring -------------------------------------------------------------------------------------

function start() {
  relabel(document);
  $("lang").textContent = t("switchTo");
  $("forget").hidden = !token();
  $("lang").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    $("lang").textContent = t("switchTo");
    if (state.division) {
      renderDivision();
      renderTrend();
      loadGaps().catch(fail);
    }
  });
  $("forget").addEventListener("click", () => {
    setToken(null);
    location.reload();
  });
  $("asof").addEventListener("change", () => {
    const value = $("asof").value;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return;
    state.asOf = value;
    state.gapCursors = [null];
    state.gapPage = 0;
    if (state.code) go(state.code, state.level);
  });
  $("search").addEventListener("input", (event) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => search(event.target.value), 150);
  });
  $("search").addEventListener("keydown", (event) => {
    if (event.key === "Escape") $("results").hidden = true;
  });
  $("gap-level").addEventListener("change", () => {
    state.gapLevel = $("gap-level").value;
    state.gapCursors = [null];
    state.gapPage = 0;
    loadGaps().catch(fail);
  });
  $("gap-prev").addEventListener("click", () => { state.gapPage -= 1; loadGaps().catch(fail); });
  $("gap-next").addEventListener("click", () => { state.gapPage += 1; loadGaps().catch(fail); });
  for (const format of ["csv", "xlsx"]) {
    $(`download-${format}`).addEventListener("click", () => {
      const params = new URLSearchParams({ under: state.code, level: state.gapLevel, asOf: state.asOf, format });
      download(`/export/uncovered?${params}`).catch(fail);
    });
  }
  $("token").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken($("token-input").value.trim());
    $("token-input").value = "";
    $("forget").hidden = false;
    load();
  });
  window.addEventListener("hashchange", load);
  let resizeTimer = null;
  let lastWidth = window.innerWidth;
  window.addEventListener("resize", () => {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (state.trend) renderTrend(); }, 150);
  });
  load();
}

start();
