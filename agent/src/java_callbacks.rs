//! The Java callbacks that serve class, resource and remote-call fallbacks: static methods of
//! `io.semifaas.agent.NativeBridge`, called on attached (fallback server) threads.

use jni::{
    jni_sig, jni_str,
    objects::{Global, JByteArray, JClass, JObject, JString, JValue},
    strings::JNIStr,
    Env, JavaVM,
};

use semifaas_fallback::{manifest_from_text, JarHash, LibraryJarEntry};

use crate::fallback_service::{CodeSource, CodeSourceError, RemoteCall};

pub struct JavaCodeSource {
    vm: JavaVM,
    bridge: Global<JClass<'static>>,
}

impl JavaCodeSource {
    /// Keeps the VM and a global reference to the bridge class; call on a Java thread.
    pub fn new(env: &Env, bridge_class: &JClass) -> jni::errors::Result<JavaCodeSource> {
        Ok(JavaCodeSource {
            vm: env.get_java_vm()?,
            bridge: env.new_global_ref(bridge_class)?,
        })
    }

    /// Runs `f` with this thread attached to the JVM for the call only; a failure names the
    /// bridge method `what` returns.
    fn on_jvm<T>(
        &self,
        what: impl FnOnce() -> String,
        f: impl FnOnce(&mut Env) -> jni::errors::Result<T>,
    ) -> Result<T, CodeSourceError> {
        // Scoped: a thread left attached counts as a non-daemon Java thread, and the JVM's exit
        // would wait for the runtime's idle blocking threads to time out.
        self.vm
            .attach_current_thread_for_scope(f)
            .map_err(|e| CodeSourceError::Failed(format!("NativeBridge.{} failed: {e}", what())))
    }

    /// Calls `static Object method(String)` on the bridge: a `byte[]` is what was asked for, `null`
    /// is `None` (the application has none), a `String` says why it is withheld.
    fn call(&self, method: &JNIStr, arg: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
        self.on_jvm(
            || format!("{method}({arg:?})"),
            |env| {
                let name = env.new_string(arg)?;
                let value = env
                    .call_static_method(
                        &self.bridge,
                        method,
                        jni_sig!("(Ljava/lang/String;)Ljava/lang/Object;"),
                        &[JValue::from(&name)],
                    )?
                    .l()?;
                served(env, value)
            },
        )?
        .found_or_none(CodeSourceError::Withheld)
    }
}

/// What the bridge answered: the bytes asked for, nothing, or why they are withheld.
enum Served {
    Found(Vec<u8>),
    Missing,
    Withheld(String),
}

impl Served {
    /// The bytes, or `None`; a withheld answer is the error `withheld` makes of its reason.
    fn found_or_none(
        self,
        withheld: impl FnOnce(String) -> CodeSourceError,
    ) -> Result<Option<Vec<u8>>, CodeSourceError> {
        match self {
            Served::Found(bytes) => Ok(Some(bytes)),
            Served::Missing => Ok(None),
            Served::Withheld(reason) => Err(withheld(reason)),
        }
    }
}

/// Reads the bridge's answer: a `byte[]`, `null` or a `String` reason.
fn served<'local>(env: &mut Env<'local>, value: JObject<'local>) -> jni::errors::Result<Served> {
    if value.is_null() {
        return Ok(Served::Missing);
    }
    if env.is_instance_of(&value, jni_str!("java/lang/String"))? {
        let reason = env.cast_local::<JString>(value)?;
        return Ok(Served::Withheld(reason.try_to_string(env)?));
    }
    let array = env.cast_local::<JByteArray>(value)?;
    Ok(Served::Found(env.convert_byte_array(&array)?))
}

impl JavaCodeSource {
    /// `static Object invokeRemote(long scopeId, long refId, String methodName, String
    /// descriptor, byte[] args, boolean shadow, int seq)`: outcome bytes, or a `String` saying why the
    /// call is refused (the closure's code does not make it); `null` is an error.
    fn invoke(&self, call: &RemoteCall<'_>) -> Result<Vec<u8>, CodeSourceError> {
        let what = || {
            format!(
                "invokeRemote(ref {}, {}{})",
                call.ref_id, call.method, call.descriptor
            )
        };
        let served = self.on_jvm(what, |env| {
            let method = env.new_string(call.method)?;
            let descriptor = env.new_string(call.descriptor)?;
            let args = env.byte_array_from_slice(call.args)?;
            // Java longs are signed: ids travel as their two's-complement bit pattern.
            let value = env
                .call_static_method(
                    &self.bridge,
                    jni_str!("invokeRemote"),
                    jni_sig!("(JJLjava/lang/String;Ljava/lang/String;[BZI)Ljava/lang/Object;"),
                    &[
                        JValue::Long(call.scope_id as i64),
                        JValue::Long(call.ref_id as i64),
                        JValue::from(&method),
                        JValue::from(&descriptor),
                        JValue::from(&args),
                        JValue::Bool(call.shadow),
                        // Sequence numbers stay far below 2^31 (one per remote call).
                        JValue::Int(call.seq as i32),
                    ],
                )?
                .l()?;
            served(env, value)
        })?;
        served
            .found_or_none(CodeSourceError::Withheld)?
            .ok_or_else(|| {
                CodeSourceError::Failed(format!("NativeBridge.{} returned null", what()))
            })
    }
}

impl JavaCodeSource {
    /// `static Object libraryManifest()`: the manifest's text form (a `byte[]`), or a `String`
    /// saying why there is none.
    fn manifest(&self) -> Result<Vec<LibraryJarEntry>, CodeSourceError> {
        let served = self.on_jvm(
            || "libraryManifest".into(),
            |env| {
                let value = env
                    .call_static_method(
                        &self.bridge,
                        jni_str!("libraryManifest"),
                        jni_sig!("()Ljava/lang/Object;"),
                        &[],
                    )?
                    .l()?;
                served(env, value)
            },
        )?;
        let Some(bytes) = served.found_or_none(CodeSourceError::Failed)? else {
            return Ok(Vec::new());
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| CodeSourceError::Failed("the library manifest is not UTF-8".into()))?;
        manifest_from_text(&text).map_err(CodeSourceError::Failed)
    }

    /// `static byte[] libraryJarChunk(String sha256Hex, long offset, int max)`: `null` for a jar
    /// the index does not hold.
    fn jar_chunk(
        &self,
        sha256: JarHash,
        offset: u64,
        max: usize,
    ) -> Result<Option<Vec<u8>>, CodeSourceError> {
        self.on_jvm(
            || format!("libraryJarChunk({sha256})"),
            |env| {
                let hex = env.new_string(sha256.to_string())?;
                let value = env
                    .call_static_method(
                        &self.bridge,
                        jni_str!("libraryJarChunk"),
                        jni_sig!("(Ljava/lang/String;JI)Ljava/lang/Object;"),
                        // Offsets and chunks are bounded by LIBRARY_JAR_MAX and LIBRARY_JAR_CHUNK.
                        &[
                            JValue::from(&hex),
                            JValue::Long(offset as i64),
                            JValue::Int(max as i32),
                        ],
                    )?
                    .l()?;
                served(env, value)
            },
        )?
        .found_or_none(CodeSourceError::Failed)
    }

    /// `static int libraryClassesDefined(String[] names)`.
    fn classes_defined(&self, names: &[String]) -> Result<u32, CodeSourceError> {
        let count = self.on_jvm(
            || "libraryClassesDefined".into(),
            |env| {
                let array = env.new_object_array(
                    names.len() as i32,
                    jni_str!("java/lang/String"),
                    JObject::null(),
                )?;
                for (i, name) in names.iter().enumerate() {
                    let name = env.new_string(name)?;
                    array.set_element(env, i, &name)?;
                }
                env.call_static_method(
                    &self.bridge,
                    jni_str!("libraryClassesDefined"),
                    jni_sig!("([Ljava/lang/String;)I"),
                    &[JValue::from(&array)],
                )?
                .i()
            },
        )?;
        Ok(count.max(0) as u32)
    }
}

impl CodeSource for JavaCodeSource {
    fn library_manifest(&self) -> Result<Vec<LibraryJarEntry>, CodeSourceError> {
        self.manifest()
    }

    fn library_jar_chunk(
        &self,
        sha256: JarHash,
        offset: u64,
        max: usize,
    ) -> Result<Option<Vec<u8>>, CodeSourceError> {
        self.jar_chunk(sha256, offset, max)
    }

    fn library_classes_defined(&self, names: &[String]) -> Result<u32, CodeSourceError> {
        self.classes_defined(names)
    }

    fn class_bytes(&self, binary_name: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
        self.call(jni_str!("classBytes"), binary_name)
    }

    fn resource_bytes(&self, path: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
        self.call(jni_str!("resourceBytes"), path)
    }

    fn invoke_remote(&self, call: &RemoteCall<'_>) -> Result<Vec<u8>, CodeSourceError> {
        self.invoke(call)
    }

    /// `static void learnClass(String handlerKey, String binaryName)`. Best effort: a closure
    /// that does not learn still works, it only fetches the class again.
    fn learned(&self, handler_key: &str, binary_name: &str) {
        let result = self.on_jvm(
            || "learnClass".into(),
            |env| {
                let key = env.new_string(handler_key)?;
                let name = env.new_string(binary_name)?;
                env.call_static_method(
                    &self.bridge,
                    jni_str!("learnClass"),
                    jni_sig!("(Ljava/lang/String;Ljava/lang/String;)V"),
                    &[JValue::from(&key), JValue::from(&name)],
                )?;
                Ok(())
            },
        );
        if let Err(e) = result {
            tracing::debug!(handler = handler_key, class = binary_name, "{e}");
        }
    }
}
