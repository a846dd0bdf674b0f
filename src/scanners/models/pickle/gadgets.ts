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
    '_pyrepl'].map((pattern) => ({ pattern, why: RUN })),
  ...['runpy', 'code', 'codeop', 'compileall', 'py_compile', 'marshal', 'types', 'timeit', 'trace', 'pdb', 'bdb',
    'doctest', 'cProfile', 'profile', 'idlelib', 'lib2to3', 'IPython', 'ipykernel', 'numexpr', 'sympy.parsing',
    'asteval', 'execnet', '_interpreters', '_xxsubinterpreters', 'interpreters', 'test', 'unittest', 'rlcompleter',
    'dill', 'cloudpickle', 'cffi', 'jinja2', 'mako', 'Cython', 'pyximport', 'distutils', 'setuptools',
    'pkg_resources', 'pip', 'ensurepip', 'venv', 'site', 'sitecustomize', 'usercustomize', 'numpy.f2py', 'numpy.distutils',
    'numpy.testing', 'torch.jit', 'torch._dynamo', 'torch._inductor', 'torch._export', 'torch.fx', 'torch.utils.cpp_extension',
    'torch.package', 'torch.library', 'torch.ops', 'torch.classes', 'torch._C._jit', 'torch.export', 'torch.onnx']
    .map((pattern) => ({ pattern, why: EVAL })),
  ...['importlib', '_frozen_importlib', '_frozen_importlib_external', 'imp', '_imp', 'zipimport', 'pkgutil', 'modulefinder']
    .map((pattern) => ({ pattern, why: IMPORT })),
  ...['sys', 'builtins', '__builtin__', '__builtins__', 'inspect', 'operator', '_operator', 'gc', 'ctypes', '_ctypes',
    'weakref', '_weakref', 'functools', '_functools', 'atexit', 'signal', '_signal', '_thread', 'thread', 'copyreg',
    'copy_reg']
    .map((pattern) => ({ pattern, why: pattern.includes('ctypes') ? NATIVE : ATTR })),
  ...['pickle', '_pickle', 'cPickle', 'pickletools', 'shelve', 'dbm', 'jsonpickle', 'yaml', 'ruamel', 'torch.hub', 'torch.utils._config_module', 'torch.utils.data.datapipes', 'torch.utils.collect_env',
    'torch.utils.bottleneck', 'torch.distributed.rpc', 'torch.distributed.elastic', 'torch.distributed.launch',
    'torch.distributed.run', 'torch.distributed.launcher', 'torch.distributed.checkpoint.state_dict_loader',
    'torch.distributed.checkpoint.format_utils', 'torch.multiprocessing', 'numpy.ctypeslib', 'numpy.lib.npyio', 'numpy.lib.format', 'numpy.lib._npyio_impl', 'numpy.lib._datasource',
    'numpy.lib.utils', 'numpy.compat', 'pandas.io', 'pandas.core.computation', 'keras.saving', 'keras.models',
    'tensorflow.io', 'tensorflow.python.ops.script_ops', 'tensorflow.python.lib.io', 'tensorflow.saved_model',
    'tensorflow.python.saved_model', 'tensorflow.keras.models', 'tensorflow.keras.saving', 'tf_keras',
    'transformers.pipelines', 'huggingface_hub', 'datasets.load', 'mlflow.pyfunc', 'mlflow.artifacts',
    'mlflow.projects', 'onnxruntime']
    .map((pattern) => ({ pattern, why: NESTED })),
  ...['shutil', 'tempfile', 'glob', 'fileinput', 'filecmp', 'linecache', 'io', '_io', 'codecs', 'gzip', 'bz2', 'lzma',
    'zipfile', 'tarfile', 'zipapp', 'sqlite3', '_sqlite3', 'mmap', 'mailbox', 'netrc', 'logging', 'syslog',
    'tkinter', 'turtle', 'aifc', 'wave', 'sndhdr', 'imghdr', 'posixpath', 'ntpath', 'genericpath', 'pathlib', 'resource',
    'pwd', 'grp', 'spwd', 'getpass', 'crypt']
    .map((pattern) => ({ pattern, why: FILES })),
  ...['socket', '_socket', 'ssl', '_ssl', 'select', 'selectors', 'asyncio', 'asyncore', 'asynchat', 'socketserver',
    'http', 'httplib', 'urllib', 'urllib2', 'urllib3', 'requests', 'httpx', 'aiohttp', 'smtplib', 'smtpd', 'ftplib',
    'poplib', 'imaplib', 'nntplib', 'telnetlib', 'xmlrpc', 'xmlrpclib', 'webbrowser', 'wsgiref', 'cgi', 'cgitb',
    'urlparse', 'SimpleHTTPServer', 'BaseHTTPServer', 'CGIHTTPServer', 'SocketServer', 'antigravity', 'this']
    .map((pattern) => ({ pattern, why: NET })),
];

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
];

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
