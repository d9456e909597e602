/**
 * `tollgate doctor`: the protocol conformance checks a registry operator wants, run against a live
 * registry and its token server, printed as a pass/fail table. Each check asks the way a real client
 * does (containers/image GET, containerd POST password, docker offline + refresh_token) and the
 * registry itself judges the token, so a pass means real clients will work.
 */
import { accessKey, accessOf, basic, decodeJwt, getToken, parseChallenge, postToken, send, type Reply, type Who } from './doctor-http.js';

export interface DoctorOptions {
  registry: string;
  authn?: string;
  user?: string;
  password?: string;
  repository: string;
}

export interface CheckResult {
  name: string;
  status: 'PASS' | 'FAIL' | 'SKIP';
  detail: string;
}

const trimSlash = (u: string): string => u.replace(/\/+$/, '');
const bodyOf = (r: Reply): string => (r.text.length > 160 ? `${r.text.slice(0, 160)}…` : r.text);

export async function runChecks(o: DoctorOptions): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const check = (name: string, ok: boolean, detail: string) => out.push({ name, status: ok ? 'PASS' : 'FAIL', detail });
  const skip = (name: string, detail: string) => out.push({ name, status: 'SKIP', detail });
  const registry = trimSlash(o.registry);
  const repo = o.repository;
  const pullScope = `repository:${repo}:pull`;

  let base: Reply;
  try {
    base = await send(`${registry}/v2/`);
  } catch (e) {
    check('registry reachable', false, `${registry}/v2/: ${(e as Error).message}`);
    return out;
  }
  const challenge = parseChallenge(base.headers.get('www-authenticate'));
  check('registry asks for a bearer token', base.status === 401 && !!challenge, `GET /v2/ → ${base.status} ${base.headers.get('www-authenticate') ?? '(no WWW-Authenticate)'}`);
  if (!challenge) return out;
  const { realm, service } = challenge;
  if (o.authn) {
    const want = new URL(trimSlash(o.authn));
    const got = new URL(realm);
    check('realm points at authn', got.origin === want.origin, `realm ${realm}, --authn ${o.authn}`);
  }

  const scoped = await send(`${registry}/v2/${repo}/tags/list`);
  const sc = parseChallenge(scoped.headers.get('www-authenticate'));
  check('challenge carries the repository scope', sc?.scope === pullScope, `scope="${sc?.scope ?? ''}"`);

  const bad = await getToken(realm, service, [pullScope], { user: o.user ?? 'tollgate-doctor', password: 'definitely-wrong-password' });
  check('wrong password → 401', bad.status === 401, `GET → ${bad.status}`);

  const anon = await getToken(realm, service, [pullScope], undefined);
  out.push({ name: 'anonymous request', status: anon.status === 200 || anon.status === 401 ? 'PASS' : 'FAIL', detail: anon.status === 200 ? `200, granted ${accessKey(accessOf(decodeJwt(anon.body.token))) || 'nothing'}` : `${anon.status} (anonymous access off)` });

  if (!o.user || o.password === undefined) {
    for (const n of ['GET repeated scopes', 'GET space-joined scope', 'expires_in ≥ 60', 'JWT claims', 'signing header', 'registry accepts the token', 'repository scope honoured', 'catalog scope', 'POST password grant', 'offline token + refresh_token grant'])
      skip(n, 'needs --user and --password (or TOLLGATE_DOCTOR_PASSWORD)');
    return out;
  }
  const who: Who = { user: o.user, password: o.password };
  const scopes = [pullScope, 'registry:catalog:*'];

  const rep = await getToken(realm, service, scopes, who);
  const token = rep.body.access_token ?? rep.body.token;
  check('GET repeated scopes', rep.status === 200 && typeof token === 'string' && (rep.body.token === undefined || rep.body.access_token === undefined || rep.body.token === rep.body.access_token),
    rep.status === 200 ? `token${rep.body.access_token ? ' + access_token' : ''}${rep.body.issued_at ? ', issued_at' : ''}` : `${rep.status} ${bodyOf(rep)}`);
  if (rep.status !== 200 || typeof token !== 'string') return out;
  const jwt = decodeJwt(token);
  const granted = accessKey(accessOf(jwt));

  const joined = await getToken(realm, service, [scopes.join(' ')], who);
  const joinedKey = accessKey(accessOf(decodeJwt(joined.body.access_token ?? joined.body.token)));
  check('GET space-joined scope', joined.status === 200 && joinedKey === granted, `${joined.status}; same grant as repeated: ${joinedKey === granted}`);

  const exp = Number(rep.body.expires_in);
  check('expires_in ≥ 60', Number.isFinite(exp) && exp >= 60, `expires_in ${String(rep.body.expires_in)}`);

  const c = jwt?.claims ?? {};
  const ints = ['exp', 'nbf', 'iat'].every((k) => Number.isInteger(c[k]));
  check('JWT claims', typeof c.aud === 'string' && c.aud === service && typeof c.iss === 'string' && ints && c.sub === who.user,
    `iss=${String(c.iss)} aud=${JSON.stringify(c.aud)} (service ${service}) sub=${String(c.sub)} integer exp/nbf/iat=${ints}`);
  const h = jwt?.header ?? {};
  check('signing header', ['ES256', 'RS256', 'RS384', 'RS512'].includes(String(h.alg)) && (Array.isArray(h.x5c) || typeof h.kid === 'string'),
    `alg=${String(h.alg)} kid=${h.kid ? 'yes' : 'no'} x5c=${Array.isArray(h.x5c) ? `${h.x5c.length} cert(s)` : 'no'}`);

  const auth = { authorization: `Bearer ${token}` };
  const v2 = await send(`${registry}/v2/`, { headers: auth });
  check('registry accepts the token', v2.status === 200, `GET /v2/ with token → ${v2.status} ${v2.status === 200 ? '' : (v2.headers.get('www-authenticate') ?? '')}`);

  const pullGranted = accessOf(jwt).some((a) => a.type === 'repository' && a.name === repo && (a.actions.includes('pull') || a.actions.includes('*')));
  const tags = await send(`${registry}/v2/${repo}/tags/list`, { headers: auth });
  check('repository scope honoured', pullGranted ? tags.status === 200 || tags.status === 404 : tags.status === 401,
    `${pullScope} ${pullGranted ? 'granted' : 'not granted'} to ${who.user}; tags/list → ${tags.status}`);

  const catGranted = accessOf(jwt).some((a) => a.type === 'registry' && a.name === 'catalog');
  const cat = await send(`${registry}/v2/_catalog`, { headers: auth });
  check('catalog scope', catGranted ? cat.status === 200 : cat.status === 401, `registry:catalog:* ${catGranted ? 'granted' : 'not granted'} to ${who.user}; _catalog → ${cat.status}`);

  const pw = await postToken(realm, { grant_type: 'password', username: who.user, password: who.password, client_id: 'tollgate-doctor', service, scope: scopes.join(' ') });
  const pwKey = accessKey(accessOf(decodeJwt(pw.body.access_token)));
  check('POST password grant', pw.status === 200 && typeof pw.body.access_token === 'string' && pwKey === granted,
    pw.status === 200 ? `access_token ${typeof pw.body.access_token === 'string' ? 'present' : 'MISSING'}; same grant: ${pwKey === granted}` : `${pw.status} ${bodyOf(pw)}`);

  const login = await send(`${realm}${realm.includes('?') ? '&' : '?'}${new URLSearchParams({ account: who.user, client_id: 'docker', offline_token: 'true', service })}`, { headers: { authorization: basic(who) } });
  const refresh = login.body.refresh_token;
  if (login.status !== 200 || typeof refresh !== 'string') {
    check('offline token + refresh_token grant', false, `login GET offline_token=true → ${login.status}, refresh_token ${typeof refresh === 'string' ? 'present' : 'missing'}`);
  } else {
    const fields = { grant_type: 'refresh_token', refresh_token: refresh, client_id: 'docker', service, scope: pullScope };
    const r1 = await postToken(realm, fields);
    const r2 = await postToken(realm, fields);
    check('offline token + refresh_token grant', r1.status === 200 && r2.status === 200 && typeof r1.body.access_token === 'string' && typeof r2.body.access_token === 'string',
      `refresh_token issued; POST refresh → ${r1.status}, reused → ${r2.status}`);
  }
  return out;
}

export function formatTable(rows: CheckResult[]): string {
  const w = Math.max(5, ...rows.map((r) => r.name.length));
  const lines = [`${'CHECK'.padEnd(w)}  RESULT  DETAIL`, ...rows.map((r) => `${r.name.padEnd(w)}  ${r.status.padEnd(6)}  ${r.detail}`)];
  const fails = rows.filter((r) => r.status === 'FAIL').length;
  lines.push('', fails ? `${fails} check(s) failed` : `all ${rows.filter((r) => r.status === 'PASS').length} checks passed`);
  return `${lines.join('\n')}\n`;
}
