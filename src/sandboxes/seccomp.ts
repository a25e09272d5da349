/**
 * Burrow's seccomp profile: allow by default, refuse (EPERM) the system calls a
 * sandbox has no business making. Namespaces, capabilities and the user
 * mapping already stop most of these; the profile is the second wall.
 */
const DENIED = [
  // kernel modules and replacing the kernel
  "init_module", "finit_module", "delete_module", "create_module", "kexec_load", "kexec_file_load",
  // kernel keyring, eBPF, perf, userfaultfd: large kernel attack surface
  "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
  // mounting, pivoting and swapping
  "mount", "umount", "umount2", "pivot_root", "swapon", "swapoff", "fsopen", "fsmount", "fsconfig", "move_mount", "open_tree", "fspick", "mount_setattr",
  // machine-wide state
  "reboot", "syslog", "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime", "sethostname", "setdomainname",
  // raw hardware and handles that bypass path checks
  "iopl", "ioperm", "open_by_handle_at", "name_to_handle_at", "lookup_dcookie", "quotactl", "nfsservctl",
  "uselib", "_sysctl", "vm86", "vm86old", "get_kernel_syms", "query_module", "kcmp",
  // other processes' memory and namespaces
  "process_vm_readv", "process_vm_writev", "setns", "unshare",
];

const CLONE_NEWUSER = 0x10000000;
const EPERM = 1;

export function seccompProfile() {
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: [
      { names: DENIED, action: "SCMP_ACT_ERRNO", errnoRet: EPERM },
      // No nested user namespaces: they reopen capabilities the sandbox was denied.
      {
        names: ["clone"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: EPERM,
        args: [{ index: 0, value: CLONE_NEWUSER, valueTwo: CLONE_NEWUSER, op: "SCMP_CMP_MASKED_EQ" }],
      },
      // clone3 passes flags in memory seccomp cannot read: make callers fall back to clone.
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 /* ENOSYS */ },
    ],
  };
}
