// Talking to the service: GraphQL over POST /graphql and file downloads, with the bearer token of
// this browser tab (sessionStorage only) when the service needs one for reading.
const TOKEN_KEY = "graph-service-token";

/** A request the service refused because it needs a (valid) token. */
export class NeedsToken extends Error {}

export function token() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const value = token();
  return value ? { ...extra, Authorization: `Bearer ${value}` } : extra;
}

/** Run a GraphQL query; resolves to its data, rejects with NeedsToken or an Error naming the problem. */
export async function graphql(query, variables) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", Accept: "application/json" }),
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try { body = await response.json(); } catch { throw new Error(`HTTP ${response.status}`); }
  const errors = body.errors || [];
  if (response.status === 401 || errors.some((e) => e.extensions?.code === "UNAUTHENTICATED")) {
    throw new NeedsToken(errors[0]?.message || "token needed");
  }
  if (errors.length) throw new Error(errors.map((e) => e.message).join("; "));
  return body.data;
}

/** Download `url` (a same-origin GET) as a file named by the server, sending the token when held. */
export async function download(url) {
  const response = await fetch(url, { headers: headers() });
  if (response.status === 401) throw new NeedsToken("token needed");
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { message = (await response.json()).errors[0].message; } catch { /* not JSON */ }
    throw new Error(message);
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename\*=UTF-8''([^;]+)/.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : "download";
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
