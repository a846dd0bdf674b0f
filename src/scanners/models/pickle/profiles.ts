/**
 * Allowlist profiles: globals that are SAFE for a pickle to load, grouped by the framework that writes
 * them and versioned, so that a change to what Custody trusts is visible in review and in reports.
 *
 * "Safe" means: importing the name has no side effect beyond importing its (well-known) module, and
 * calling it with attacker-chosen arguments — which a pickle can do — only builds plain data. Classes
 * are rebuilt through `copyreg`/`__reduce__`/`__setstate__` from data; nothing on this list can import
 * another name, read or write files, reach the network, or turn data into code. Functions that do any
 * of that belong in gadgets.ts, never here.
 */

export interface AllowProfile {
  /** Short name, shown in reports: `python`, `numpy`, `pytorch`, `scikit-learn`, `joblib`. */
  readonly name: string;
  /** Revision of this profile; bump it whenever the list changes. */
  readonly version: string;
  /** Framework versions whose pickles the profile was checked against. */
  readonly covers: string;
  /** Exact `module.name` globals. */
  readonly globals: readonly string[];
  /**
   * Module prefixes under which class names (CapWords, or Cython's `__pyx_unpickle_<Class>` helper) are
   * safe: estimator and layer classes that a pickle rebuilds from data. Lower-case names (functions)
   * under these prefixes are never covered.
   */
  readonly classesUnder?: readonly string[];
  /** Module prefixes excluded from `classesUnder` (vendored or test-helper code that does I/O). */
  readonly classesExcept?: readonly string[];
}

const BUILTIN_EXCEPTIONS = [
  'ArithmeticError', 'AssertionError', 'AttributeError', 'BaseException', 'BufferError', 'BytesWarning',
  'DeprecationWarning', 'EOFError', 'EnvironmentError', 'Exception', 'FloatingPointError', 'FutureWarning',
  'GeneratorExit', 'IOError', 'ImportError', 'ImportWarning', 'IndentationError', 'IndexError', 'KeyError',
  'KeyboardInterrupt', 'LookupError', 'MemoryError', 'ModuleNotFoundError', 'NameError', 'NotImplementedError',
  'OSError', 'OverflowError', 'PendingDeprecationWarning', 'RecursionError', 'ReferenceError', 'RuntimeError',
  'RuntimeWarning', 'StopIteration', 'SyntaxError', 'SyntaxWarning', 'SystemError', 'TabError', 'TimeoutError',
  'TypeError', 'UnboundLocalError', 'UnicodeDecodeError', 'UnicodeEncodeError', 'UnicodeError',
  'UnicodeTranslateError', 'UnicodeWarning', 'UserWarning', 'ValueError', 'Warning', 'ZeroDivisionError',
  'FileNotFoundError', 'FileExistsError', 'PermissionError', 'ConnectionError', 'ResourceWarning',
];

export const PYTHON_PROFILE: AllowProfile = {
  name: 'python',
  version: '1.0.0',
  covers: 'CPython 2.7 (through fix_imports) and 3.8–3.13 standard pickles',
  globals: [
    // Plain value types and pure functions of builtins (protocol 0–2 `__builtin__` names map here).
    ...['bool', 'int', 'float', 'complex', 'str', 'bytes', 'bytearray', 'list', 'tuple', 'set', 'frozenset', 'dict',
      'slice', 'range', 'object', 'type', 'Ellipsis', 'NotImplemented', 'len', 'abs', 'min', 'max', 'sum', 'round',
      'divmod', 'pow', 'sorted', 'reversed', 'enumerate', 'zip', 'map', 'filter', 'iter', 'next', 'repr', 'ascii',
      'chr', 'ord', 'bin', 'oct', 'hex', 'hash', 'all', 'any', 'isinstance', 'issubclass', 'callable', 'format']
      .map((n) => `builtins.${n}`),
    ...BUILTIN_EXCEPTIONS.map((n) => `builtins.${n}`),
    // Object-protocol helpers that only call `cls.__new__` (and `base.__init__` of a class named in the pickle).
    'copyreg._reconstructor', 'copyreg.__newobj__', 'copyreg.__newobj_ex__',
    // Protocol 0–2 write bytes as `_codecs.encode(str, 'latin1')`.
    '_codecs.encode', 'codecs.encode',
    'collections.OrderedDict', 'collections.defaultdict', 'collections.Counter', 'collections.deque',
    'collections.ChainMap', 'collections.UserDict', 'collections.UserList', 'collections.UserString',
    'datetime.datetime', 'datetime.date', 'datetime.time', 'datetime.timedelta', 'datetime.timezone', 'datetime.tzinfo',
    'decimal.Decimal', 'fractions.Fraction', 'uuid.UUID', 'uuid.SafeUUID',
    'array.array', 'array._array_reconstructor', 're._compile', 're.RegexFlag',
    'types.SimpleNamespace', 'argparse.Namespace', 'enum.Enum', 'enum.IntEnum', 'enum.Flag', 'enum.IntFlag',
    'io.BytesIO', '_io.BytesIO', 'io.StringIO', '_io.StringIO',
    // Logger.__reduce__ is getLogger(name): it returns (or creates) a named logger, nothing else.
    'logging.getLogger',
    'pathlib.Path', 'pathlib.PurePath', 'pathlib.PosixPath', 'pathlib.WindowsPath', 'pathlib.PurePosixPath',
    'pathlib.PureWindowsPath', 'zoneinfo.ZoneInfo', 'ipaddress.IPv4Address', 'ipaddress.IPv6Address',
    'ipaddress.IPv4Network', 'ipaddress.IPv6Network',
  ],
};

const NUMPY_SCALARS = [
  'bool_', 'bool', 'bool8', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'intc', 'uintc',
  'intp', 'uintp', 'int_', 'uint', 'longlong', 'ulonglong', 'short', 'ushort', 'byte', 'ubyte', 'half', 'single',
  'double', 'longdouble', 'float16', 'float32', 'float64', 'float128', 'float_', 'complex64', 'complex128',
  'complex256', 'complex_', 'csingle', 'cdouble', 'clongdouble', 'object_', 'str_', 'bytes_', 'unicode_', 'string_',
  'void', 'datetime64', 'timedelta64', 'generic', 'number', 'integer', 'signedinteger', 'unsignedinteger', 'inexact',
  'floating', 'complexfloating', 'character', 'flexible',
];

/** Element-wise math functions: referencing or calling them only computes on numbers. */
const NUMPY_UFUNCS = [
  'absolute', 'add', 'arccos', 'arccosh', 'arcsin', 'arcsinh', 'arctan', 'arctan2', 'arctanh', 'cbrt', 'ceil', 'clip',
  'conjugate', 'cos', 'cosh', 'deg2rad', 'degrees', 'divide', 'equal', 'exp', 'exp2', 'expm1', 'fabs', 'floor',
  'floor_divide', 'fmax', 'fmin', 'fmod', 'greater', 'greater_equal', 'hypot', 'isfinite', 'isinf', 'isnan', 'less',
  'less_equal', 'log', 'log10', 'log1p', 'log2', 'logaddexp', 'logaddexp2', 'logical_and', 'logical_not', 'logical_or',
  'logical_xor', 'maximum', 'minimum', 'mod', 'multiply', 'negative', 'not_equal', 'positive', 'power', 'rad2deg',
  'radians', 'reciprocal', 'remainder', 'rint', 'sign', 'sin', 'sinh', 'sqrt', 'square', 'subtract', 'tan', 'tanh',
  'true_divide', 'trunc', 'abs', 'mean', 'median', 'sum', 'nanmean', 'nanmedian', 'std', 'var', 'amax', 'amin', 'max', 'min',
];

export const NUMPY_PROFILE: AllowProfile = {
  name: 'numpy',
  version: '1.0.0',
  covers: 'NumPy 1.16–2.x (numpy.core and numpy._core layouts)',
  globals: [
    'numpy.ndarray', 'numpy.dtype', 'numpy.matrix', 'numpy.recarray', 'numpy.record', 'numpy.ma.MaskedArray',
    ...['core', '_core'].flatMap((core) => [
      `numpy.${core}.multiarray._reconstruct`, `numpy.${core}.multiarray.scalar`, `numpy.${core}.numeric._frombuffer`,
      `numpy.${core}.records.recarray`, `numpy.${core}.records.record`, `numpy.${core}.multiarray.ndarray`,
      `numpy.${core}._multiarray_umath._reconstruct`, `numpy.${core}._DType_reconstruct`,
    ]),
    'numpy.ma.core.MaskedArray', 'numpy.ma.core._mareconstruct', 'numpy.ma.core.MaskedConstant',
    'numpy.matrixlib.defmatrix.matrix',
    ...NUMPY_SCALARS.map((n) => `numpy.${n}`),
    ...NUMPY_UFUNCS.map((n) => `numpy.${n}`),
    // Random state: constructors look the bit generator up by name (or take a class the pickle names).
    'numpy.random._pickle.__randomstate_ctor', 'numpy.random._pickle.__generator_ctor',
    'numpy.random._pickle.__bit_generator_ctor', 'numpy.random.__RandomState_ctor', 'numpy.random.mtrand.__RandomState_ctor',
    'numpy.random.mtrand.RandomState', 'numpy.random._generator.Generator', 'numpy.random._mt19937.MT19937',
    'numpy.random._pcg64.PCG64', 'numpy.random._pcg64.PCG64DXSM', 'numpy.random._philox.Philox',
    'numpy.random._sfc64.SFC64', 'numpy.random.bit_generator.SeedSequence',
    'numpy.random.bit_generator.__pyx_unpickle_SeedSequence',
  ],
  // numpy.dtypes.Float64DType and friends.
  classesUnder: ['numpy.dtypes'],
};

const TORCH_DTYPES = [
  'float32', 'float', 'float64', 'double', 'float16', 'half', 'bfloat16', 'complex32', 'chalf', 'complex64', 'cfloat',
  'complex128', 'cdouble', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'short', 'int32', 'int', 'int64',
  'long', 'bool', 'quint8', 'qint8', 'qint32', 'quint4x2', 'quint2x4', 'float8_e4m3fn', 'float8_e5m2',
  'float8_e4m3fnuz', 'float8_e5m2fnuz', 'float8_e8m0fnu', 'float4_e2m1fn_x2', 'bits1x8', 'bits2x4', 'bits4x2', 'bits8', 'bits16',
];
const TORCH_STORAGES = [
  'Double', 'Float', 'Half', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool', 'BFloat16', 'ComplexDouble',
  'ComplexFloat', 'QUInt8', 'QInt8', 'QInt32', 'QUInt4x2', 'QUInt2x4',
].map((n) => `${n}Storage`);

export const PYTORCH_PROFILE: AllowProfile = {
  name: 'pytorch',
  version: '1.0.0',
  covers: 'PyTorch 1.0–2.x state_dicts and whole-module checkpoints (zip and legacy formats)',
  globals: [
    ...['_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3', '_rebuild_parameter', '_rebuild_parameter_with_state',
      '_rebuild_qtensor', '_rebuild_sparse_tensor', '_rebuild_sparse_csr_tensor', '_rebuild_meta_tensor_no_storage',
      '_rebuild_nested_tensor', '_rebuild_wrapper_subclass', '_rebuild_device_tensor_from_numpy',
      '_rebuild_device_tensor_from_cpu_tensor', '_rebuild_xla_tensor', '_rebuild_mlc_tensor', '_rebuild_from_type']
      .map((n) => `torch._utils.${n}`),
    // Calls the tensor rebuild function the pickle names; that name is classified on its own.
    'torch._tensor._rebuild_from_type_v2',
    ...TORCH_DTYPES.map((n) => `torch.${n}`),
    ...TORCH_STORAGES.flatMap((n) => [`torch.${n}`, `torch.cuda.${n}`]),
    'torch.storage.TypedStorage', 'torch.storage.UntypedStorage', 'torch.TypedStorage', 'torch.UntypedStorage',
    'torch.storage._StorageBase',
    'torch.Size', 'torch.device', 'torch.Tensor', 'torch._tensor.Tensor', 'torch.nn.parameter.Parameter',
    'torch.nn.Parameter', 'torch.nn.parameter.Buffer', 'torch.nn.parameter.UninitializedParameter',
    'torch.nn.parameter.UninitializedBuffer', 'torch.serialization._get_layout', 'torch.strided', 'torch.sparse_coo',
    'torch.sparse_csr', 'torch.sparse_csc', 'torch.sparse_bsr', 'torch.sparse_bsc', 'torch._mkldnn', 'torch.jagged',
    'torch.contiguous_format', 'torch.channels_last', 'torch.channels_last_3d', 'torch.preserve_format',
    'torch.per_tensor_affine', 'torch.per_channel_affine', 'torch.per_tensor_symmetric', 'torch.per_channel_symmetric',
    'torch.per_channel_affine_float_qparams', 'torch.memory_format', 'torch.layout', 'torch.qscheme', 'torch.dtype',
    'collections.OrderedDict', 'torch.Generator', 'torch._C.Generator',
    // torch.distributed.checkpoint `.metadata`: storage locations of each chunk.
    'torch.distributed.checkpoint.filesystem._StorageInfo', 'torch.distributed.checkpoint.filesystem._StoragePrefix',
    'torch.distributed.checkpoint.filesystem.SerializationFormat',
  ],
  // Layer classes (torch.nn.modules.linear.Linear …) and named-tuple return types; their instances are
  // rebuilt with __new__ and a __dict__/__setstate__ of data.
  classesUnder: [
    'torch.nn.modules', 'torch.return_types', 'torch.nn.utils.parametrize', 'torch.optim', 'torch.ao.quantization',
    // torch.distributed.checkpoint `.metadata` files are pickles of these dataclasses.
    'torch.distributed.checkpoint.metadata', 'torch.distributed.checkpoint.planner',
    'torch.distributed._shard.metadata', 'torch.distributed._shard.sharded_tensor.metadata',
    'torch.distributed._shard.sharding_spec', 'torch.distributed.tensor.placement_types',
    'torch.distributed._tensor.placement_types',
  ],
};

export const TORCHSCRIPT_PROFILE: AllowProfile = {
  name: 'torchscript',
  version: '1.0.0',
  covers: 'TorchScript archives (data.pkl / constants.pkl read by the C++ unpickler)',
  globals: ['build_intlist', 'build_tensorlist', 'build_doublelist', 'build_boollist', 'build_complexlist',
    'build_tensor_from_id', 'restore_type_tag'].map((n) => `torch.jit._pickle.${n}`),
  // Classes compiled from the archive's own code/ directory; Python's pickle cannot import them at all.
  classesUnder: ['__torch__'],
};

export const SKLEARN_PROFILE: AllowProfile = {
  name: 'scikit-learn',
  version: '1.0.0',
  covers: 'scikit-learn 0.20–1.x estimators (sklearn.<subpackage>.<Class>), including Cython trees and losses',
  globals: [
    // Binary trees pickle through a helper that only calls `cls.__new__(cls)`.
    'sklearn.neighbors._kd_tree.newObj', 'sklearn.neighbors._ball_tree.newObj', 'sklearn.neighbors._binary_tree.newObj',
    'sklearn.neighbors.kd_tree.newObj', 'sklearn.neighbors.ball_tree.newObj',
  ],
  classesUnder: ['sklearn'],
  classesExcept: ['sklearn.externals', 'sklearn.utils._testing', 'sklearn.utils.parallel', 'sklearn.utils._joblib', 'sklearn.datasets'],
};

export const JOBLIB_PROFILE: AllowProfile = {
  name: 'joblib',
  version: '1.0.0',
  covers: 'joblib 0.9–1.x (and the copy vendored as sklearn.externals.joblib)',
  globals: [
    'joblib.numpy_pickle.NumpyArrayWrapper', 'joblib.numpy_pickle_compat.NDArrayWrapper',
    'joblib.numpy_pickle_compat.ZNDArrayWrapper', 'joblib.numpy_pickle.NDArrayWrapper', 'joblib.numpy_pickle.ZNDArrayWrapper',
    'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper', 'sklearn.externals.joblib.numpy_pickle_compat.NDArrayWrapper',
    'sklearn.externals.joblib.numpy_pickle_compat.ZNDArrayWrapper', 'sklearn.externals.joblib.numpy_pickle.NDArrayWrapper',
    'sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper',
  ],
};

export const HUGGINGFACE_PROFILE: AllowProfile = {
  name: 'huggingface',
  version: '1.0.0',
  covers: 'training_args.bin and trainer state written by transformers 4.x, accelerate, trl and tokenizers',
  globals: [
    'transformers.training_args.TrainingArguments', 'transformers.training_args_seq2seq.Seq2SeqTrainingArguments',
    'transformers.training_args.OptimizerNames', 'transformers.trainer_pt_utils.AcceleratorConfig',
    ...['IntervalStrategy', 'SchedulerType', 'HubStrategy', 'EvaluationStrategy', 'FSDPOption', 'SaveStrategy', 'ShardedDDPOption']
      .map((n) => `transformers.trainer_utils.${n}`),
    'transformers.integrations.deepspeed.HfTrainerDeepSpeedConfig', 'transformers.integrations.deepspeed.HfDeepSpeedConfig',
    'accelerate.utils.dataclasses.DistributedType', 'accelerate.utils.dataclasses.DeepSpeedPlugin',
    'accelerate.utils.deepspeed.HfDeepSpeedConfig', 'trl.trainer.sft_config.SFTConfig', 'trl.trainer.dpo_config.DPOConfig',
    'tokenizers.Tokenizer', 'tokenizers.AddedToken', 'tokenizers.models.Model',
  ],
};

export const LIGHTNING_PROFILE: AllowProfile = {
  name: 'lightning-omegaconf',
  version: '1.0.0',
  covers: 'PyTorch Lightning 1.x-2.x checkpoint hyper-parameters and OmegaConf 2.x configs',
  globals: [
    'pytorch_lightning.utilities.parsing.AttributeDict', 'lightning.fabric.utilities.data.AttributeDict',
    'lightning_fabric.utilities.data.AttributeDict', 'lightning.pytorch.utilities.parsing.AttributeDict',
    'omegaconf.dictconfig.DictConfig', 'omegaconf.listconfig.ListConfig', 'omegaconf.base.ContainerMetadata',
    'omegaconf.base.Metadata', 'omegaconf.nodes.AnyNode', 'omegaconf.nodes.StringNode', 'omegaconf.nodes.IntegerNode',
    'omegaconf.nodes.FloatNode', 'omegaconf.nodes.BooleanNode', 'omegaconf.nodes.ValueNode', 'typing.Any',
    'torch.torch_version.TorchVersion',
  ],
};

/** Every profile, applied together. */
export const ALLOW_PROFILES: readonly AllowProfile[] = [
  PYTHON_PROFILE, NUMPY_PROFILE, PYTORCH_PROFILE, TORCHSCRIPT_PROFILE, SKLEARN_PROFILE, JOBLIB_PROFILE, HUGGINGFACE_PROFILE, LIGHTNING_PROFILE,
];
