/**
 * The launchers that run plain node preload jemalloc for the appliance
 * (`applianceAllocatorEnvironment` in electron/main/appliance-process.ts). It is the appliance's
 * own choice: the commands it runs (qemu-img, nft, virsh…) inherit its environment, and keep
 * their own allocator once the variables are dropped from it. Other preloaded libraries stay.
 */
export function keepAllocatorToSelf(env: NodeJS.ProcessEnv): void {
  delete env.MALLOC_CONF;
  if (env.LD_PRELOAD === undefined) return;
  const others = env.LD_PRELOAD.split(/[\s:]+/).filter(
    (entry) => entry !== '' && !/(^|\/)libjemalloc\.so\.2$/.test(entry),
  );
  if (others.length > 0) env.LD_PRELOAD = others.join(' ');
  else delete env.LD_PRELOAD;
}
