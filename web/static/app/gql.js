// The dashboard's one way to the server: GraphQL over HTTP for queries and
// mutations, and over a websocket (graphql-transport-ws) for
// subscriptions, with the user's token when one is set.
export const token = () => (localStorage.getItem("inquest-token") || "").trim();

export async function gql(query, variables = {}) {
  const headers = { "Content-Type": "application/json" };
  if (token()) headers.Authorization = "Bearer " + token();
  const res = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  if (res.status === 401) throw new Error((await res.text()).trim() + " (paste a token from `inquest token` in the Token box)");
  const body = await res.json();
  if (body.errors && body.errors.length) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data;
}

// subscribe calls onData with each payload until close() is called; onError
// hears of a failure (the stream then ends).
export function subscribe(query, variables, onData, onError = () => {}) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + "/graphql", "graphql-transport-ws");
  let closed = false;
  ws.onopen = () => {
    const payload = token() ? { Authorization: "Bearer " + token() } : {};
    ws.send(JSON.stringify({ type: "connection_init", payload }));
  };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "connection_ack") ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
    else if (msg.type === "next" && msg.payload) {
      if (msg.payload.errors) onError(new Error(msg.payload.errors.map((e) => e.message).join("; ")));
      else onData(msg.payload.data);
    } else if (msg.type === "error") onError(new Error((msg.payload || []).map((e) => e.message).join("; ")));
    else if (msg.type === "ping") ws.send(JSON.stringify({ type: "pong" }));
  };
  ws.onerror = () => { if (!closed) onError(new Error("the live connection failed")); };
  return { close() { closed = true; ws.close(); } };
}
