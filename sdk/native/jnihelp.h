// JNI calls for the Go side of libWeWorkSpecSDK.so. Go cannot call through
// the JNIEnv function table (nor call variadic C functions), so each JNI
// function the library uses has a fixed-argument wrapper here.
#ifndef WWSPEC_JNIHELP_H
#define WWSPEC_JNIHELP_H

#include <jni.h>

jstring wwjni_NewStringUTF(JNIEnv *env, const char *utf);

// Large strings cross through Java's own UTF-8 codec, which the JIT
// compiles to vector code, rather than JNI's modified-UTF-8 functions, which
// HotSpot runs a byte at a time: wwjni_StringBytes returns
// s.getBytes(UTF_8) (NULL on failure), wwjni_StringFromBytes returns
// new String(bytes, UTF_8) (NULL on failure).
jbyteArray wwjni_StringBytes(JNIEnv *env, jstring s, jsize *len);
jstring wwjni_StringFromBytes(JNIEnv *env, const char *buf, jsize len);

// wwjni_ReadShort copies s into buf (with a NUL after it) and returns its
// length when it is shorter than cap and all ASCII other than U+0000, whose
// modified UTF-8 is its UTF-8; else it returns -1. One cgo call for the
// strings that are most of a program's: ids, names, small JSON.
jint wwjni_ReadShort(JNIEnv *env, jstring s, char *buf, jint cap);

// wwjni_TakeBytes copies the len bytes of b into buf and deletes the local
// reference b.
void wwjni_TakeBytes(JNIEnv *env, jbyteArray b, jsize len, char *buf);

// wwjni_Failed reports whether a Java exception is pending, and clears it:
// the library answers bad input with codes, never with an exception.
jboolean wwjni_Failed(JNIEnv *env);
void wwjni_DeleteLocalRef(JNIEnv *env, jobject o);
jboolean wwjni_IsString(JNIEnv *env, jobject o);

jweak wwjni_NewWeakGlobalRef(JNIEnv *env, jobject o);
void wwjni_DeleteWeakGlobalRef(JNIEnv *env, jweak o);
jboolean wwjni_IsCleared(JNIEnv *env, jweak o);

// Map access, through method ids cached by JNI_OnLoad.
jobject wwjni_MapIterator(JNIEnv *env, jobject map);     // map.entrySet().iterator(), NULL on failure
jobject wwjni_IteratorNext(JNIEnv *env, jobject it);     // it.hasNext() ? it.next() : NULL
jobject wwjni_EntryKey(JNIEnv *env, jobject entry);
jobject wwjni_EntryValue(JNIEnv *env, jobject entry);
jobject wwjni_NewHashMap(JNIEnv *env);
jboolean wwjni_MapPut(JNIEnv *env, jobject map, jstring k, jstring v);
jboolean wwjni_IsMap(JNIEnv *env, jobject o);

// Fields of the wrapper objects, found by name on the object's class
// (WeCom's wrappers fill them by reflection: their names are the contract).
// NULL when the class has no such field (the error is cleared).
jfieldID wwjni_Field(JNIEnv *env, jobject o, const char *name, const char *sig);
jobject wwjni_GetObjectField(JNIEnv *env, jobject o, jfieldID f);
jboolean wwjni_SetObjectField(JNIEnv *env, jobject o, jfieldID f, jobject v);

// wwjni_GetEnv returns the JNIEnv of the calling thread, NULL if it has none.
JNIEnv *wwjni_GetEnv(JavaVM *vm);

// wwjni_Init caches the classes and method ids of java.util's Map, Set,
// Iterator, Map.Entry, HashMap and String; 0 on success.
int wwjni_Init(JNIEnv *env);

#endif
