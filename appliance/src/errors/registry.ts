/**
 * The one registry of expected errors. Every error the API returns carries one of these stable
 * codes; clients and scripts match on the code, never on the message. Add codes, never rename.
 */
export const errorRegistry = {
  VALIDATION_FAILED: {
    status: 400,
    description:
      'The request body, query or path did not match the schema; details.fields names each field and what is allowed.',
  },
  INVALID_JSON: {
    status: 400,
    description: 'The request body is not well-formed JSON.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description:
      'The request body has a content type the endpoint does not accept (use application/json).',
  },
  BODY_TOO_LARGE: {
    status: 413,
    description:
      'The request body is larger than the limit for this endpoint; details.limitBytes gives the limit.',
  },
  DIFF_TOO_LARGE: {
    status: 422,
    description:
      'The two module versions are too different to diff within the bounds (details.maxEdits changed lines, details.timeoutMs of work); read the versions instead.',
  },
  HOST_NOT_ALLOWED: {
    status: 421,
    description:
      "The request's Host (or :authority) is none of the box's names or addresses (a guard against DNS rebinding); details.host names what was sent.",
  },
  UI_NOT_ON_SERVICE_HOST: {
    status: 421,
    description:
      "This host name serves the apps' published ports, never the UI or the API (a session cookie there would reach every app); details.uiUrl is where the UI is.",
  },
  UNAUTHENTICATED: {
    status: 401,
    description: 'No valid session cookie or API token came with the request.',
  },
  INVALID_CREDENTIALS: {
    status: 401,
    description: 'The user name or the password is wrong (the same answer for both, on purpose).',
  },
  LOGIN_THROTTLED: {
    status: 429,
    description: 'Too many failed logins; details.retryAfterSeconds says when to try again.',
  },
  TOO_MANY_STREAMS: {
    status: 429,
    description:
      'This user already has the most event streams open at once; details.limit gives how many. Close one (a tab, a CLI --wait) first.',
  },
  TOO_MANY_WAITS: {
    status: 429,
    description:
      'This caller already holds the most waiting requests at once (console waits per user, parameter waits per agent token); details.limit gives how many.',
  },
  AUTH_BUSY: {
    status: 429,
    description:
      'Too many passwords or PINs are being checked at this moment, box-wide (at most 4 at once, fewer with few cores or a small thread pool); the guess was not checked and not counted. details.retryAfterSeconds says when to try again.',
  },
  CSRF_FAILED: {
    status: 403,
    description: "A cookie-authenticated change came without the session's x-csrf-token header.",
  },
  FORBIDDEN: {
    status: 403,
    description:
      'Authenticated, but the role or the ACL does not allow this action on this resource.',
  },
  SETUP_REQUIRED: {
    status: 409,
    description:
      'No administrator exists yet: the only allowed action is creating one (POST /api/v1/setup).',
  },
  ALREADY_SET_UP: {
    status: 409,
    description: 'An administrator already exists; first-run setup cannot be repeated.',
  },
  SETUP_CODE_REQUIRED: {
    status: 403,
    description:
      "Creating the first administrator from another machine needs the one-time setup code the box prints in its log and shows on its own screen (details.field is setupCode); on the box's own screen none is needed.",
  },
  NOT_FOUND: {
    status: 404,
    description: 'No such route or resource; details.resource names what was looked for.',
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    description: 'The route exists but not with this HTTP method.',
  },
  RANGE_NOT_SATISFIABLE: {
    status: 416,
    description:
      'The Range header asks for bytes the file does not have (or is malformed, such as bytes=5-1).',
  },
  USERNAME_TAKEN: {
    status: 409,
    description: 'Another user already has this user name.',
  },
  LAST_ADMIN: {
    status: 409,
    description: 'The change would leave the box without an enabled administrator.',
  },
  WRONG_PASSWORD: {
    status: 400,
    description: 'The current password given to confirm a password change is wrong.',
  },
  NO_CAPACITY: {
    status: 409,
    description:
      "The box's capacity cannot hold the footprint; details give the resource, what is held, what was asked and what is allowed.",
  },
  QUOTA_EXCEEDED: {
    status: 409,
    description:
      "The user's quota cannot hold the footprint; details give the resource, what is held, what was asked and what is allowed.",
  },
  UNKNOWN_CONNECTOR_KIND: {
    status: 400,
    description:
      'No connector of this kind is registered; details.known lists the kinds there are.',
  },
  CLOUD_UNREACHABLE: {
    status: 502,
    description:
      'The cloud did not answer (or not in time); details.cloud and details.reason say which and why.',
  },
  VM_NOT_FOUND: {
    status: 404,
    description: 'The cloud has no VM with this id; details.nativeId names it.',
  },
  BAD_IMAGE: {
    status: 400,
    description:
      'A base image is missing, unreadable or of the wrong format; details.image names it.',
  },
  DISK_TOO_SMALL: {
    status: 422,
    description:
      "A VM's disk (its image module's resources.diskGiB) is smaller than the virtual size of the base image it is made on, which would cut the guest's disk short; details.neededGiB is the least that fits. Refused when the run or its pre-flight is asked for (details.module names the image module, details.image the base image), and again when the VM is made.",
  },
  IMAGE_UNSAFE: {
    status: 422,
    description:
      'A file offered to the image store is not plain image data: details.found lists what qemu-img found (backing-file, data-file, encrypted, format, virtual-size, unreadable) and details.file which file. Only self-contained qcow2 disks (and plain kernel and initrd files) are kept; nothing was stored.',
  },
  IMAGE_UNUSABLE: {
    status: 409,
    description:
      'The base image failed the image check when the appliance started and cannot be used; details.reason says what was found. Delete it and import a safe one.',
  },
  IMPORT_PATH_REFUSED: {
    status: 403,
    description:
      'An import by path names a file outside the folders the box imports from (removable media and the configured import folders), once symbolic links are resolved; details.allowed lists those folders.',
  },
  NOT_A_REGULAR_FILE: {
    status: 422,
    description:
      'An import by path names something other than a regular file (a folder, a device, a FIFO or a socket); details.type says what it is.',
  },
  FILE_TOO_LARGE: {
    status: 413,
    description:
      'A file named for import is larger than the box takes; details.sizeBytes and details.limitBytes give both sizes.',
  },
  IMPORT_TIMEOUT: {
    status: 504,
    description:
      'Reading a file for an import made no progress for details.stallSeconds seconds (a hung or failing device); the import was abandoned and nothing was kept.',
  },
  POWER_FAILED: {
    status: 500,
    description:
      "The box could not power off or reboot (no rights, or no init system to ask); details.reason carries the command's words.",
  },
  CLOUD_REFUSED: {
    status: 502,
    description: 'The cloud refused the request; details.reason carries its own message.',
  },
  CLOUD_URI_REFUSED: {
    status: 400,
    description:
      'A libvirt URI names something the box never passes to libvirt (a program to run, a key outside the keys folder, no host-key check, an unknown or repeated parameter, a password); details.part and details.parameter say what, and the message lists what is allowed.',
  },
  CLOUD_DISABLED: {
    status: 409,
    description:
      "A stored cloud's config no longer passes the rules (checked at start-up), so the box never contacts it (no health check, reconciliation, run or test); an administrator testing it gets details.reason. Remove it and add it again with an allowed URI.",
  },
  NETWORK_FAILED: {
    status: 502,
    description:
      "A run's private network (its libvirt network, firewall table or agent listener) could not be made, changed or removed on the box; details.reason carries the tool's own message.",
  },
  CLOUD_NAME_TAKEN: {
    status: 409,
    description: 'Another cloud already has this name.',
  },
  CLOUD_IN_USE: {
    status: 409,
    description: 'The cloud still runs VMs; details.vms counts them. Terminate their runs first.',
  },
  IMAGE_NAME_TAKEN: {
    status: 409,
    description: 'Another image already has this name.',
  },
  IMAGE_IN_USE: {
    status: 409,
    description: 'VMs still use the image; details.vms counts them.',
  },
  CHECKSUM_MISMATCH: {
    status: 422,
    description:
      'A file does not have the sha256 it was announced with; details has expected and actual.',
  },
  NO_SPACE: {
    status: 507,
    description:
      "Not enough disk space: nothing was changed. For an import, details has neededBytes, freeBytes and reserveBytes; for a change the full disk refused, details.reason is the disk's answer.",
  },
  NOT_SAVED: {
    status: 503,
    description:
      "The disk refused to write the change (details.reason is the disk's answer): it was not saved, and nothing changed.",
  },
  LENGTH_REQUIRED: {
    status: 411,
    description: 'An upload must say its size in Content-Length.',
  },
  WRONG_STATE: {
    status: 409,
    description:
      "The action is not allowed in the run's current state; details.state says which it is.",
  },
  NO_CONSOLE: {
    status: 404,
    description:
      'No console log is kept here for this instance (not launched yet, or on a remote cloud).',
  },
  BAD_BUNDLE: {
    status: 422,
    description:
      'The bundle is malformed, altered or unsafe; the message names the entry. Nothing was installed.',
  },
  UNTRUSTED_BUNDLE: {
    status: 422,
    description:
      'The bundle is unsigned or signed by a publisher the box does not trust, and unsigned bundles are not allowed.',
  },
  PUBLISHER_NOT_ALLOWED: {
    status: 403,
    description:
      "The bundle's signing key is trusted, but not for this app id (the appIds it was trusted with); details.appIds lists what it signs for. Nothing was written.",
  },
  PUBLISHER_MISMATCH: {
    status: 422,
    description:
      "The manifest's publisher is not the name the signing key is trusted under; details.claimed and details.trustedAs give both. Nothing was written.",
  },
  APP_OTHER_PUBLISHER: {
    status: 409,
    description:
      'The app is bound to the key of the signed install that created it (or of this box, for an app published here); a version signed by another key, or unsigned, is refused. An app bound to no key (created unsigned, or published here before apps were bound to keys; details.boundKeyId null) refuses every signed bundle: the publisher must ship it under another app id. details.boundKeyId names the key.',
  },
  APP_DOWNGRADE: {
    status: 409,
    description:
      "The bundle's version is older than the newest installed; an administrator may still install it with allowDowngrade, and it never becomes the newest. details.newest gives the newest.",
  },
  MODULE_OUTSIDE_APP: {
    status: 422,
    description:
      'A module of the bundle lies outside /apps/<app id>/, or names a module outside it; details.fields says which. Nothing was installed.',
  },
  APP_NOT_EXPORTABLE: {
    status: 422,
    description:
      'The app cannot be exported as a bundle that installs elsewhere: the module it deploys lies outside /apps/<app id>/ (an app published from a module elsewhere), or its modules name modules the bundle would not ship; details.problems says which.',
  },
  FORM_INCOMPLETE: {
    status: 422,
    description:
      'A publish whose deploy form leaves out inputs that have no value from a default or a mapping; details.inputs names each (node:input).',
  },
  ACL_CHANGED: {
    status: 409,
    description:
      "A module's sharing rules were changed since the caller read them (the change named the rules it expected); details.acl has the current ones.",
  },
  PREFLIGHT_FAILED: {
    status: 409,
    description:
      'A pre-flight check failed (capacity, base image, placement); details.checks says which and what is missing.',
  },
  METRIC_NOT_FOUND: {
    status: 404,
    description: 'No history is kept for this metric (GET /history/metrics lists them).',
  },
  PARAM_NOT_SET: {
    status: 404,
    description: 'The runtime parameter is not set (after waiting, if a wait was asked).',
  },
  PARAM_FORBIDDEN: {
    status: 403,
    description:
      "The key is not this agent's: an instance writes only its own declared outputs (and url.<port> of its declared ports), never run: keys or another instance's, and reads secrets only of its own instance. details.key names it.",
  },
  PARAM_UNKNOWN: {
    status: 422,
    description:
      'The key names a node, instance or output the run does not have; details.allowed lists the keys this instance may set.',
  },
  PARAMS_FULL: {
    status: 409,
    description:
      'The run holds as many runtime parameters as it may (details.maxKeys keys, details.maxBytes bytes of keys and values); nothing was set.',
  },
  TOKENS_FULL: {
    status: 409,
    description:
      'The user holds as many API tokens as one may (details.allowed); revoke one first. Nothing was made.',
  },
  GUEST_REFUSED: {
    status: 403,
    description:
      "The connection comes from a VM: QEMU's user networking reaches the host's loopback and addresses, but guests may reach only the agent API, on their agent URL (checked where QEMU runs as its own user).",
  },
  KIOSK_LOCKED: {
    status: 403,
    description:
      "This session is in kiosk mode: only the app store is open. Leave it with the administrator's kiosk PIN (POST /api/v1/kiosk/unlock).",
  },
  KIOSK_SCREEN_ONLY: {
    status: 403,
    description:
      "Only a kiosk session (the box's own screen, signed in on the local listener with its screen id) may do this: lock itself, try the kiosk PIN, or sign in with a screen id.",
  },
  KIOSK_PIN_NOT_SET: {
    status: 409,
    description:
      'No kiosk PIN is set, so kiosk mode could never be left: an administrator sets one first (PUT /api/v1/kiosk/pin).',
  },
  WRONG_PIN: {
    status: 403,
    description: 'The kiosk PIN given to leave kiosk mode is wrong.',
  },
  PIN_THROTTLED: {
    status: 429,
    description: 'Too many wrong kiosk PINs; details.retryAfterSeconds says when to try again.',
  },
  EVENT_NOT_RECORDED: {
    status: 503,
    description:
      "The change was saved, but the event telling open screens about it could not be written (the disk is full or failing; details.reason says what the disk answered). Screens show the change once they reload; free the disk's space.",
  },
  VM_STARTING: {
    status: 503,
    description:
      "The agent's VM was launched a moment ago and is still being recorded; the agent asks again (it retries every 503).",
  },
  SHUTTING_DOWN: {
    status: 503,
    description: 'The appliance is shutting down and takes no new work; retry once it is back.',
  },
  INTERNAL: {
    status: 500,
    description: 'A bug: the appliance logged it with the request id in details.requestId.',
  },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof errorRegistry;

export const errorCodes = Object.keys(errorRegistry) as ErrorCode[];
