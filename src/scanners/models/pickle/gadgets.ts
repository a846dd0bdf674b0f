/**
 * Known-dangerous globals ("gadgets"): names a pickle can import and call to run commands, evaluate
 * code, import arbitrary modules, reach attributes by name, touch files or the network, or load a
 * further pickle. Drawn from the public denylists of picklescan, modelscan and fickling and from
 * published exploit write-ups, and deliberately broader: whole modules are listed where nothing in them
 * belongs in a model file.
 *
 * Two kinds of entry:
 * - MODULE gadgets cover the module and every submodule (`os` covers `os.path.join`);
 * - NAME gadgets cover one `module.name` and attribute walks below it (`pathlib.Path.write_text`).
 */

export interface Gadget {
  readonly pattern: string;
  readonly why: string;
}

const RUN = 'runs shell commands or programs';
const EVAL = 'turns text or bytes into executed code';
const IMPORT = 'imports an arbitrary module or attribute by name';
const ATTR = 'reaches any attribute of any object by name (a getattr primitive)';
const FILES = 'reads, writes or deletes files';
const NET = 'opens network connections';
const NESTED = 'loads a further pickle (or another code-carrying format) from bytes, a file or a URL';
const NATIVE = 'loads native libraries or calls raw C functions';

export const MODULE_GADGETS: readonly Gadget[] = [
  ...['os', 'posix', 'nt', '_posixsubprocess', 'subprocess', 'pty', 'commands', 'popen2', 'multiprocessing',
    'concurrent', '_winapi', 'msvcrt', 'winreg', '_winreg', 'win32api', 'win32process', 'win32com', 'pexpect', 'pipes',
    'sh', 'plumbum', 'fabric', 'paramiko', 'invoke', 'uuid', 'platform', 'pydoc', '_osx_support', '_aix_support',
    '_pyrepl', 'loky'].map((pattern) => ({ pattern, why: RUN })),
  ...['runpy', 'code', 'codeop', 'compileall', 'py_compile', 'marshal', 'types', 'timeit', 'trace', 'pdb', 'bdb',
    'doctest', 'cProfile', 'profile', 'idlelib', 'lib2to3', 'IPython', 'ipykernel', 'numexpr',
    // Nearly every sympy function sympify()s string arguments, which is eval().
    'sympy', 'annotationlib', 'cython', 'scipy.weave', 'transformers.dynamic_module_utils', 'torch._C', 'torch._ops',
    'torch.utils.benchmark', 'torch.testing._internal', 'Cheetah', 'chameleon', 'genshi.template',
    'asteval', 'execnet', '_interpreters', '_xxsubinterpreters', 'interpreters', 'test', 'unittest', 'rlcompleter',
    'dill', 'cloudpickle', 'cffi', 'jinja2', 'mako', 'Cython', 'pyximport', 'distutils', 'setuptools',
    'pkg_resources', 'pip', 'ensurepip', 'venv', 'site', 'sitecustomize', 'usercustomize', 'numpy.f2py', 'numpy.distutils',
    'numpy.testing', 'torch.jit', 'torch._dynamo', 'torch._inductor', 'torch._export', 'torch.fx', 'torch.utils.cpp_extension',
    'torch.package', 'torch.library', 'torch.ops', 'torch.classes', 'torch._C._jit', 'torch.export', 'torch.onnx']
    .map((pattern) => ({ pattern, why: EVAL })),
  ...['importlib', '_frozen_importlib', '_frozen_importlib_external', 'imp', '_imp', 'zipimport', 'pkgutil', 'modulefinder',
    'importlib_metadata', 'importlib_resources', 'hydra', 'six.moves', 'future.moves', 'future.builtins', 'future.standard_library',
    'past.builtins']
    .map((pattern) => ({ pattern, why: IMPORT })),
  ...['sys', 'builtins', '__builtin__', '__builtins__', 'inspect', 'operator', '_operator', 'gc', 'ctypes', '_ctypes',
    'weakref', '_weakref', 'functools', '_functools', 'atexit', 'signal', '_signal', '_thread', 'thread', 'copyreg',
    'copy_reg', 'scipy.LowLevelCallable', 'scipy._lib._ccallback']
    .map((pattern) => ({ pattern, why: pattern.includes('ctypes') || pattern.includes('scipy') ? NATIVE : ATTR })),
  ...['pickle', '_pickle', 'cPickle', 'pickletools', 'shelve', 'dbm', 'jsonpickle', 'yaml', 'ruamel', 'torch.hub', 'torch.utils._config_module', 'torch.utils.data.datapipes', 'torch.utils.collect_env',
    'torch.utils.bottleneck', 'torch.distributed.rpc', 'torch.distributed.elastic', 'torch.distributed.launch',
    'torch.distributed.run', 'torch.distributed.launcher', 'torch.distributed.checkpoint.state_dict_loader',
    'torch.distributed.checkpoint.format_utils', 'torch.multiprocessing', 'numpy.ctypeslib', 'numpy.lib.npyio', 'numpy.lib.format', 'numpy.lib._npyio_impl', 'numpy.lib._datasource',
    'numpy.lib.utils', 'numpy.compat', 'pandas.io', 'pandas.core.computation', 'keras.saving', 'keras.models',
    'tensorflow.io', 'tensorflow.python.ops.script_ops', 'tensorflow.python.lib.io', 'tensorflow.saved_model',
    'tensorflow.python.saved_model', 'tensorflow.keras.models', 'tensorflow.keras.saving', 'tf_keras',
    'transformers.pipelines', 'huggingface_hub', 'datasets.load', 'mlflow.pyfunc', 'mlflow.artifacts',
    'mlflow.projects', 'onnxruntime', 'pickle5', 'srsly', 'tracemalloc', 'torch.utils.model_zoo', 'torch.serialization',
    'torch.distributed.checkpoint', 'pandas.compat.pickle_compat', 'keras.src.saving', 'tensorflow.raw_ops',
    'joblib.numpy_pickle_utils', 'joblib._store_backends', 'numpy.lib.DataSource']
    .map((pattern) => ({ pattern, why: NESTED })),
  ...['shutil', 'tempfile', 'glob', 'fileinput', 'filecmp', 'linecache', 'io', '_io', 'codecs', 'gzip', 'bz2', 'lzma',
    'zipfile', 'tarfile', 'zipapp', 'sqlite3', '_sqlite3', 'mmap', 'mailbox', 'netrc', 'logging', 'syslog',
    'tkinter', 'turtle', 'aifc', 'wave', 'sndhdr', 'imghdr', 'posixpath', 'ntpath', 'genericpath', 'pathlib', 'resource',
    'pwd', 'grp', 'spwd', 'getpass', 'crypt', 'readline', 'uu', 'binhex', 'sunau', 'pstats', 'scipy.io',
    'torch.utils.tensorboard', 'xml.dom.pulldom', 'xml.etree.ElementInclude']
    .map((pattern) => ({ pattern, why: FILES })),
  ...['socket', '_socket', 'ssl', '_ssl', 'select', 'selectors', 'asyncio', 'asyncore', 'asynchat', 'socketserver',
    'http', 'httplib', 'urllib', 'urllib2', 'urllib3', 'requests', 'httpx', 'aiohttp', 'smtplib', 'smtpd', 'ftplib',
    'poplib', 'imaplib', 'nntplib', 'telnetlib', 'xmlrpc', 'xmlrpclib', 'webbrowser', 'wsgiref', 'cgi', 'cgitb', 'xml.sax',
    'urlparse', 'SimpleHTTPServer', 'BaseHTTPServer', 'CGIHTTPServer', 'SocketServer', 'antigravity', 'this']
    .map((pattern) => ({ pattern, why: NET })),
];

/**
 * Model-security tooling: pickle scanners, safe-loading hooks and restricted unpicklers. A model file has
 * no reason to import any of them; a pickle that does (fickling.hook.remove_hook,
 * fickling.hook.deactivate_safe_ml_environment, a scanner's allowlist) is switching a defence off or
 * tampering with one before the rest of the load runs. Whole modules, with their submodules.
 */
export const SECURITY_TOOL_MODULES: readonly string[] = [
  'fickling', 'picklescan', 'modelscan', 'modelaudit', 'model_unpickler', 'saferpickle', 'safepickle', 'safe_pickle',
  'securepickle', 'secure_pickle', 'restrictedpickle', 'restricted_pickle', 'pickleball', 'picklesafe', 'pickleguard',
  'pickle_guard', 'torch._weights_only_unpickler', 'skops.io._audit', 'skops.io._trusted_types',
];
export const SECURITY_TOOL_WHY = 'belongs to model-security tooling (a pickle scanner, safe-loading hook or restricted unpickler); a model file has no reason to import it, and doing so switches off or tampers with a defence before the rest of the load runs';

export const NAME_GADGETS: readonly Gadget[] = [
  ...['torch.load', 'torch.serialization.load', 'torch.serialization._load', 'torch.serialization._legacy_load',
    'torch.storage._load_from_bytes', 'torch.compile', 'torch.save', 'torch.serialization.save', 'torch.from_file',
    'torch._C._load_for_lite_interpreter', 'torch._utils._rebuild_device_tensor_from_numpy_file',
    'numpy.load', 'numpy.loads', 'numpy.save', 'numpy.savez', 'numpy.savez_compressed', 'numpy.savetxt', 'numpy.loadtxt',
    'numpy.genfromtxt', 'numpy.fromfile', 'numpy.memmap', 'numpy.fromregex', 'numpy.DataSource', 'numpy.core.memmap',
    'numpy._core.memmap', 'numpy.core._ufunc_reconstruct', 'numpy._core._ufunc_reconstruct',
    'numpy.core.multiarray.fromfile', 'numpy._core.multiarray.fromfile', 'numpy.core.records.fromfile',
    'numpy._core.records.fromfile', 'joblib.load', 'joblib.dump', 'joblib.numpy_pickle.load', 'joblib.numpy_pickle.dump',
    'joblib.numpy_pickle_compat.load_compatibility', 'joblib.Parallel', 'joblib.parallel.Parallel', 'joblib.Memory',
    'joblib.memory.Memory', 'pandas.read_pickle', 'pandas.eval', 'pandas.read_csv', 'pandas.read_json',
    'pandas.read_html', 'pandas.read_table', 'pandas.read_excel', 'pandas.read_parquet', 'pandas.read_feather',
    'pandas.read_hdf', 'pandas.read_sql', 'pandas.read_xml', 'pandas.DataFrame.to_pickle', 'pandas.DataFrame.to_csv',
    'sympy.sympify', 'sympy.core.sympify.sympify', 'scipy.io.loadmat', 'scipy.io.savemat', 'keras.models.load_model',
    'datasets.load_dataset', 'transformers.AutoModel.from_pretrained', 'huggingface_hub.hf_hub_download',
    'sklearn.utils._testing.TempMemmap', 'sklearn.datasets.fetch_openml', 'joblib.numpy_pickle_compat.read_zfile',
  ].map((pattern) => ({ pattern, why: NESTED })),
  ...['builtins.eval', 'builtins.exec', 'builtins.execfile', 'builtins.compile', 'builtins.__import__',
    'builtins.getattr', 'builtins.setattr', 'builtins.delattr', 'builtins.globals', 'builtins.locals', 'builtins.vars',
    'builtins.open', 'builtins.file', 'builtins.input', 'builtins.raw_input', 'builtins.breakpoint', 'builtins.apply',
    'builtins.reload', 'builtins.__build_class__', 'builtins.help', 'builtins.exit', 'builtins.quit',
    'builtins.memoryview', 'builtins.print', 'builtins.super', 'builtins.classmethod', 'builtins.staticmethod',
    'builtins.property', 'builtins.dir', 'builtins.hasattr', 'builtins.id']
    .map((pattern) => ({ pattern, why: pattern.endsWith('eval') || pattern.endsWith('exec') || pattern.endsWith('compile') || pattern.endsWith('execfile') ? EVAL : pattern.endsWith('open') || pattern.endsWith('file') ? FILES : ATTR })),
  { pattern: 'functools.partial', why: 'wraps a callable with preset arguments so that calling it later runs that callable' },
  { pattern: 'functools.reduce', why: 'calls a callable the pickle chooses' },
  { pattern: 'string.Formatter', why: ATTR },
  { pattern: 'logging.config.listen', why: EVAL },
  // Evaluate string annotations (eval) of an object the pickle builds.
  ...['typing.get_type_hints', 'typing._eval_type', 'typing.ForwardRef._evaluate', 'typing.evaluate_forward_ref',
    'typing_extensions.get_type_hints', 'typing_extensions.evaluate_forward_ref', 'typing_extensions.get_annotations']
    .map((pattern) => ({ pattern, why: EVAL })),
  // Import a module named by a string.
  ...['warnings._getcategory', 'warnings._setoption', 'warnings._processoptions'].map((pattern) => ({ pattern, why: IMPORT })),
  ...['xml.dom.minidom.parse', 'xml.etree.ElementTree.parse', 'xml.etree.ElementTree.iterparse', 'xml.etree.ElementTree.ElementTree',
    'xml.etree.cElementTree.parse', 'torch.cuda.memory._dump_snapshot', 'torch.cuda._memory_viz', 'pandas.DataFrame.query',
    'pandas.core.frame.DataFrame.query'].map((pattern) => ({ pattern, why: FILES })),
];

/**
 * Last components of a name that denote loading a further pickle or model (which runs its code), or
 * reading/writing a file or URL, whatever module (or vendored copy, or re-export) holds them:
 * `numpy.lib.load`, `torch.UntypedStorage.from_file`, `DataFrame.to_pickle`, `AutoModelForX.from_pretrained`.
 * No allowlisted writer emits a global with one of these names.
 */
export const LOADER_NAMES: ReadonlySet<string> = new Set([
  'load', 'loads', '_load', '_loads', 'load_url', 'load_state_dict_from_url', 'load_model', 'load_pickle', 'read_pickle',
  'unpickle', '_unpickle_model', 'from_pretrained', 'from_single_file', 'from_file', 'fromfile', 'tofile', 'to_pickle',
  'dump', 'save', 'savez', 'savez_compressed', 'savetxt', 'loadtxt', 'genfromtxt', 'recfromcsv', 'recfromtxt',
  'ndfromtxt', 'mafromtxt', 'fromtextfile', 'load_npz', 'save_npz', 'open_memmap', 'urlopen', 'urlretrieve', 'write_text',
  'write_bytes', 'get_type_hints', '_eval_type', 'evaluate_forward_ref', 'lambdify', 'sympify', 'parse_expr',
  'get_class_from_dynamic_module', 'py_func', 'py_function', 'numpy_function', 'write_history_file',
  'append_history_file', 'read_init_file', 'run_setup', 'load_from_disk', 'load_dataset', 'hf_hub_download',
  'snapshot_download', 'cached_download', 'load_file', 'load_learner', 'load_checkpoint', 'load_from_checkpoint',
]);

/**
 * Last components of a name that denote importing an object named by a string (`hydra.utils.get_method`,
 * `werkzeug.utils.import_string`, the `instantiate_from_config`/`get_obj_from_str` helpers of diffusion repos).
 */
export const IMPORTER_NAMES: ReadonlySet<string> = new Set([
  'import_string', 'symbol_by_name', 'instantiate', 'instantiate_class', 'instantiate_from_config', 'get_obj_from_str',
  'locate', '_locate', 'get_method', 'get_class', 'get_object', 'import_object', 'load_object', 'resolve_name',
  '_resolve', 'import_from_string', 'import_modules_from_strings', 'dynamic_import', 'import_class', 'import_attribute',
  'get_callable', 'resolve_dotted_name', '_dot_lookup', '_importer', 'build_from_cfg',
]);

/**
 * Path segments after which a package holds a vendored or re-exported copy of another top-level package
 * (`sklearn.externals.joblib`, `joblib.externals.cloudpickle`, `pip._vendor.requests`, `six.moves.cPickle`):
 * what follows is classified as if it were imported directly.
 */
export const ALIAS_SEGMENTS: ReadonlySet<string> = new Set([
  'externals', '_externals', '_vendor', 'vendor', 'vendored', '_vendored', 'extern', '_extern', 'third_party', '_third_party', 'moves',
]);

/**
 * Last components of a name that denote code execution whatever module re-exports them; a global
 * ending in one of these is treated as dangerous even from an unknown module.
 */
export const SINK_NAMES: ReadonlySet<string> = new Set([
  'system', 'popen', 'popen2', 'popen3', 'popen4', 'Popen', 'exec', 'execfile', 'eval', 'spawn', 'spawnl', 'spawnle',
  'spawnlp', 'spawnlpe', 'spawnv', 'spawnve', 'spawnvp', 'spawnvpe', 'execl', 'execle', 'execlp', 'execlpe', 'execv',
  'execve', 'execvp', 'execvpe', 'posix_spawn', 'posix_spawnp', 'startfile', 'check_output', 'check_call', 'getoutput',
  'getstatusoutput', 'run_path', 'run_module', 'runcode', 'runsource', 'runstring', 'runctx', 'run_cprofile',
  '__import__', 'import_module', 'load_source', 'load_module', 'load_library', 'LoadLibrary', 'CDLL', 'WinDLL',
  'spawnv_passfds', 'fork', 'forkpty', 'system_call', 'shell', 'execute', 'compile_file',
]);

/** Modules a dotted name must not walk into (`torch.serialization` + `os.system`). */
export const WALK_MODULES: ReadonlySet<string> = new Set([
  'os', 'posix', 'nt', 'sys', 'subprocess', 'builtins', '__builtins__', '__builtin__', 'pickle', '_pickle', 'importlib',
  'marshal', 'types', 'ctypes', 'socket', 'shutil', 'pty', 'runpy', 'code', 'inspect', 'operator', 'functools', 'io',
  'codecs', 'pathlib', 'tempfile', 'multiprocessing', 'pdb', 'webbrowser', 'urllib', 'http', 'requests', 'dill',
  'cloudpickle', 'joblib', 'torch', 'numpy', 'np', 'asyncio', 'signal', 'gc', 'weakref', 'copyreg', 'platform',
]);
