/** A robot's secret put to use: a ready `docker login` line and a `.dockerconfigjson` for the registry host authz was told about (`--registry-host`). */
export function dockerConfigJson(host: string, user: string, secret: string): string {
  return JSON.stringify({ auths: { [host]: { auth: btoa(`${user}:${secret}`) } } }, null, 2);
}

export function DockerLogin({ account, secret, registryHost }: { account: string; secret: string; registryHost: string | null }) {
  const host = registryHost ?? '<registry-host>';
  const login = `echo '${secret}' | docker login ${host} --username '${account}' --password-stdin`;
  return (
    <>
      {registryHost ? null : <p>authz was not given --registry-host: replace &lt;registry-host&gt; below.</p>}
      <label for="robot-login">docker login</label>
      <textarea id="robot-login" readOnly rows={2} value={login} />
      <label for="robot-dockerconfig">.dockerconfigjson</label>
      <textarea id="robot-dockerconfig" readOnly rows={7} value={dockerConfigJson(host, account, secret)} />
    </>
  );
}
