// Labels in Chinese (first) and English; the choice is kept in localStorage (it is not a secret).
const LABELS = {
  zh: {
    title: "社会工作服务站覆盖", search: "查找区划", searchHint: "名称或代码", asOf: "日期",
    forget: "清除令牌", tokenTitle: "需要访问令牌",
    tokenHelp: "本服务的数据需要令牌才能读取。请粘贴管理员发放的令牌（仅保存在本浏览器标签页中）。",
    tokenSubmit: "确定", tokenBad: "令牌无效或已过期，请重新输入。",
    coverage: "覆盖率", rollup: "站点与人员", trend: "覆盖率变化", children: "下级区划",
    gaps: "未覆盖清单", gapLevel: "级别", downloadCsv: "下载 CSV", downloadXlsx: "下载 Excel",
    prev: "上一页", next: "下一页", stations: "本级站点", noResults: "没有找到",
    level: "级别", covered: "已覆盖", total: "总数", rate: "覆盖率", name: "名称", code: "代码",
    path: "所在", status: "状态", openedOn: "启用日期", closedOn: "关闭日期", staff: "人员",
    id: "编号", none: "无", yes: "是", no: "否", countOf: "共 {n} 个", pageOf: "第 {p} / {n} 页",
    goal: "目标：2025年底乡镇全覆盖", townshipRate: "乡镇覆盖率", villageRate: "村（社区）覆盖率",
    ownCovered: "本级已覆盖", noChildren: "没有下级区划", noStations: "本区划内没有站点",
    noGaps: "全部已覆盖", failed: "读取失败：", firstOf: "显示前 {n} 个，共 {total} 个",
    "level.province": "省", "level.city": "市（州）", "level.county": "县（市、区）",
    "level.township": "乡镇（街道）", "level.village": "村（社区）",
    "station.guidance_centre": "市级指导中心", "station.general_station": "县级社会工作总站",
    "station.township_station": "乡镇（街道）社会工作服务站", "station.village_room": "村（社区）社会工作室",
    "status.planned": "规划中", "status.building": "建设中", "status.operating": "运营中", "status.closed": "已关闭",
    guidanceCentres: "市级指导中心", generalStations: "县级总站", townshipStations: "乡镇站",
    villageRooms: "村（社区）工作室", staffSum: "工作人员", certifiedStaff: "持证社工", volunteers: "志愿者",
    switchTo: "English",
  },
  en: {
    title: "Social-work station coverage", search: "Find a division", searchHint: "Name or code", asOf: "As of",
    forget: "Forget token", tokenTitle: "Access token needed",
    tokenHelp: "Reading this service needs a token. Paste the token your administrator gave you (kept for this browser tab only).",
    tokenSubmit: "OK", tokenBad: "The token is invalid or has expired; enter another.",
    coverage: "Coverage", rollup: "Stations and staff", trend: "Coverage over time", children: "Divisions below",
    gaps: "Gap list", gapLevel: "Level", downloadCsv: "Download CSV", downloadXlsx: "Download Excel",
    prev: "Previous", next: "Next", stations: "Stations in this division", noResults: "Nothing found",
    level: "Level", covered: "Covered", total: "Total", rate: "Rate", name: "Name", code: "Code",
    path: "Where", status: "Status", openedOn: "Opened", closedOn: "Closed", staff: "Staff",
    id: "Id", none: "None", yes: "yes", no: "no", countOf: "{n} in all", pageOf: "page {p} of {n}",
    goal: "Goal: every township covered by end of 2025", townshipRate: "Township coverage",
    villageRate: "Village coverage", ownCovered: "Covered itself", noChildren: "No divisions below",
    noStations: "No station sits in this division", noGaps: "Everything is covered", failed: "Could not read: ",
    firstOf: "the first {n} of {total}",
    "level.province": "Province", "level.city": "City", "level.county": "County",
    "level.township": "Township", "level.village": "Village",
    "station.guidance_centre": "City guidance centre", "station.general_station": "County general station",
    "station.township_station": "Township station", "station.village_room": "Village room",
    "status.planned": "planned", "status.building": "building", "status.operating": "operating", "status.closed": "closed",
    guidanceCentres: "Guidance centres", generalStations: "General stations", townshipStations: "Township stations",
    villageRooms: "Village rooms", staffSum: "Staff", certifiedStaff: "Certified staff", volunteers: "Volunteers",
    switchTo: "中文",
  },
};

let language = (() => {
  try { return localStorage.getItem("graph-service-lang") === "en" ? "en" : "zh"; } catch { return "zh"; }
})();

/** The current language: "zh" or "en". */
export function lang() { return language; }

/** Switch the language and relabel every element that names a label. */
export function setLang(next) {
  language = next === "en" ? "en" : "zh";
  try { localStorage.setItem("graph-service-lang", language); } catch { /* private mode */ }
  relabel(document);
}

/** The label `key` in the current language, with {name} placeholders filled from `values`. */
export function t(key, values = {}) {
  const text = LABELS[language][key] ?? LABELS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** Fill the labelled elements under `root` (data-i18n: text, data-i18n-placeholder: placeholder). */
export function relabel(root) {
  document.documentElement.lang = language === "en" ? "en" : "zh-CN";
  for (const element of root.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const element of root.querySelectorAll("[data-i18n-placeholder]")) {
    element.placeholder = t(element.dataset.i18nPlaceholder);
  }
  document.title = `${t("title")} · graph-service`;
}

/** A number formatted for the current language. */
export function number(value) { return new Intl.NumberFormat(language === "en" ? "en" : "zh-CN").format(value); }

/** A rate (0..1, or null) as a percentage with one decimal. */
export function percent(rate) { return rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`; }
