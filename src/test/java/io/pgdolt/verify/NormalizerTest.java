package io.pgdolt.verify;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Equal values print differently on PostgreSQL and Doltgres; normalised, they compare equal. */
class NormalizerTest {

    @Test
    void floatsCompareAsValues() {
        // PostgreSQL's shortest exact output vs Doltgres's, which never uses an exponent.
        assertThat(Normalizer.normalize("float8", "-2.25e-10"))
                .isEqualTo(Normalizer.normalize("float8", "-0.000000000225"));
        assertThat(Normalizer.normalize("float8", "1e+300"))
                .isEqualTo(Normalizer.normalize("float8", "1" + "0".repeat(300)));
        assertThat(Normalizer.normalize("float4", "3.4028235e+38"))
                .isEqualTo(
                        Normalizer.normalize("float4", "340282350000000000000000000000000000000"));
        // A real printed through its double widening is the same real.
        assertThat(Normalizer.normalize("float4", "0.10000000149011612"))
                .isEqualTo(Normalizer.normalize("float4", "0.1"));
        for (String special : new String[] {"NaN", "Infinity", "-Infinity"}) {
            assertThat(Normalizer.normalize("float8", special)).isEqualTo(special);
            assertThat(Normalizer.normalize("float4", special)).isEqualTo(special);
        }
        // Different values stay different, -0 included.
        assertThat(Normalizer.normalize("float8", "0.1"))
                .isNotEqualTo(Normalizer.normalize("float8", "0.10000000000000002"));
        assertThat(Normalizer.normalize("float8", "-0"))
                .isNotEqualTo(Normalizer.normalize("float8", "0"));
        assertThat(Normalizer.normalize("float8", null)).isNull();
    }

    @Test
    void booleanArraysAndFloatArraysCompareByElement() {
        assertThat(Normalizer.normalize("_bool", "{true,false,NULL}")).isEqualTo("{t,f,NULL}");
        assertThat(Normalizer.normalize("_bool", "{t,f,NULL}")).isEqualTo("{t,f,NULL}");
        assertThat(Normalizer.normalize("_bool", "{{true},{false}}")).isEqualTo("{{t},{f}}");
        assertThat(Normalizer.normalize("_bool", "{}")).isEqualTo("{}");
        assertThat(Normalizer.normalize("bool", "true")).isEqualTo("t");
        assertThat(Normalizer.normalize("_float8", "{1.5,-2.25e-10,NULL,Infinity}"))
                .isEqualTo(Normalizer.normalize("_float8", "{1.5,-0.000000000225,NULL,Infinity}"))
                .isEqualTo("{1.5,-2.25E-10,NULL,Infinity}");
        assertThat(Normalizer.normalize("_float4", "[0:1]={0.1,\"NaN\"}"))
                .isEqualTo("[0:1]={0.1,NaN}");
    }

    @Test
    void otherTypesAreComparedAsPrinted() {
        for (String type : new String[] {"text", "numeric", "timestamptz", "_text", "jsonb"}) {
            assertThat(Normalizer.normalize(type, " 1.50 {true} ")).isEqualTo(" 1.50 {true} ");
        }
        // numeric keeps its scale: 1.5 and 1.50 are different values as the replica shows them.
        assertThat(Normalizer.normalize("numeric", "1.50")).isNotEqualTo("1.5");
    }
}
