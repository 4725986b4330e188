# embed.cmake - writes OUTPUT, a C file holding every template in the
# list TEMPLATES (';'-separated paths), for render/shipped.h.
#
#   cmake -DOUTPUT=shipped-templates.c -DTEMPLATES="a;b" -P embed.cmake
#
# PREFIX names the arrays (shipped_template by default).

if(NOT PREFIX)
  set(PREFIX shipped_template)
endif()

set(names "")
set(datas "")
set(sizes "")
set(arrays "")
set(i 0)
foreach(path ${TEMPLATES})
  get_filename_component(name ${path} NAME)
  file(READ ${path} hex HEX)
  file(SIZE ${path} size)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)"
    "\\1\n\t" hex "${hex}")
  string(APPEND arrays "static const unsigned char t${i}[] = {\n\t${hex}\n};\n")
  string(APPEND names "\t\"${name}\",\n")
  string(APPEND datas "\tt${i},\n")
  string(APPEND sizes "\t${size},\n")
  math(EXPR i "${i} + 1")
endforeach()

file(WRITE ${OUTPUT}
"/* Generated from templates/ by templates/embed.cmake: do not edit. */
#include \"shipped.h\"

${arrays}
const char *const ${PREFIX}_names[] = {
${names}};
const unsigned char *const ${PREFIX}_data[] = {
${datas}};
const size_t ${PREFIX}_sizes[] = {
${sizes}};
const size_t ${PREFIX}_count = ${i};
")
