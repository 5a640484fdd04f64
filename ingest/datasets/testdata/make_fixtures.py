#!/usr/bin/python3
"""Builds the dataset fixtures under ingest/datasets/testdata/.

Each folder holds a few rows of one dataset in the layout its publisher
distributes (file names, columns, folder tree), with real medical images
converted from the pydicom and nibabel test data shipped by Debian
(python3-pydicom, python3-nibabel). Run with Debian's /usr/bin/python3 from
this folder; the output is deterministic.

Image origins (see README.md for licences):
  CT_small.dcm        pydicom test file, CT 128x128 -> ct.png (W400/L40)
  MR_small.dcm        pydicom test file, MR 64x64   -> mr.jpg / .dicom copy
  ExplVR_BigEnd.dcm   pydicom test file, US RGB 80x60 -> us.jpg (colour)
  JPEG-lossy.dcm      pydicom test file, NM 1024x256 -> nm.png (16-bit)
  anatomical.nii      nibabel test file, MR volume -> Radiopaedia .npy
"""
import csv, gzip, io, json, os, shutil

import numpy as np
import nibabel as nib
import pydicom
from PIL import Image

# The test data folders that ship inside the installed packages.
PYDICOM = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
NIBABEL = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
HERE = os.path.dirname(os.path.abspath(__file__))


def u8(a, lo=None, hi=None):
    a = a.astype(np.float64)
    lo = a.min() if lo is None else lo
    hi = a.max() if hi is None else hi
    return np.clip((a - lo) / max(hi - lo, 1e-9) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def ct():
    d = pydicom.dcmread(os.path.join(PYDICOM, "CT_small.dcm"))
    hu = d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)
    return Image.fromarray(u8(hu, 40 - 200, 40 + 200), "L")


def mr():
    return Image.fromarray(u8(pydicom.dcmread(os.path.join(PYDICOM, "MR_small.dcm")).pixel_array), "L")


def us():
    return Image.fromarray(pydicom.dcmread(os.path.join(PYDICOM, "ExplVR_BigEnd.dcm")).pixel_array.astype(np.uint8), "RGB")


def nm16():
    a = pydicom.dcmread(os.path.join(PYDICOM, "JPEG-lossy.dcm")).pixel_array[::4, ::4]
    return Image.fromarray(a.astype(np.uint16) * 16, "I;16")


def save(img, path, **kw):
    path = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, **kw)


def write(path, text):
    path = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write(text)


def write_csv(path, header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    write(path, buf.getvalue())


def reset(d):
    shutil.rmtree(os.path.join(HERE, d), ignore_errors=True)


# --- VQA-RAD: "VQA_RAD Dataset Public.json" + "VQA_RAD Image Folder" ------
reset("vqa-rad")
save(mr(), "vqa-rad/VQA_RAD Image Folder/synpic54610.jpg", quality=90)
save(ct(), "vqa-rad/VQA_RAD Image Folder/synpic29265.jpg", quality=90)
rec = lambda qid, img, url, q, a, at, qt, pt, organ: {
    "qid": qid, "phrase_type": pt, "qid_linked_id": "03f451ca-de62-4617-9679-e836026a7642",
    "image_case_url": url, "image_name": img, "image_organ": organ, "evaluation": "not evaluated",
    "question": q, "question_rephrase": "NULL", "question_relation": "NULL", "question_frame": "NULL",
    "question_type": qt, "answer": a, "answer_type": at}
vqarad = [
    rec(0, "synpic54610.jpg", "https://medpix.nlm.nih.gov/case?id=48e1dd0e-8552-46ad-a354-5eb55be86de6",
        "Are regions of the brain infarcted?", "Yes", "CLOSED", "PRES", "freeform", "HEAD"),
    rec(1, "synpic54610.jpg", "https://medpix.nlm.nih.gov/case?id=48e1dd0e-8552-46ad-a354-5eb55be86de6",
        "How many lesions are seen?", 2, "OPEN", "COUNT", "para", "HEAD"),
    rec(2, "synpic29265.jpg", "https://medpix.nlm.nih.gov/case?id=b197277b-6a2a-4d7b-b6b5-6bbc4f2a7b6f",
        "What is the imaging modality?", "CT", "OPEN", "MODALITY", "test_freeform", "CHEST"),
    # malformed: no question
    {"qid": 3, "image_name": "synpic29265.jpg", "answer": "No", "answer_type": "CLOSED",
     "question_type": "PRES", "phrase_type": "freeform", "image_organ": "CHEST", "image_case_url": ""},
]
write("vqa-rad/VQA_RAD Dataset Public.json", json.dumps(vqarad, indent=4))

# --- SLAKE as on Hugging Face (BoKelvin/SLAKE): train.json, validation.json
# (the original Slake1.0 zip's validate.json, renamed), test.json, and
# imgs.zip unpacked to imgs/xmlabN/source.jpg ---
reset("slake")
save(mr(), "slake/SLAKE/imgs/xmlab1/source.jpg", quality=90)
save(ct(), "slake/SLAKE/imgs/xmlab2/source.jpg", quality=90)
sl = lambda img_id, img, q, a, lang, loc, mod, at, ct_, qid: {
    "img_id": img_id, "img_name": img, "question": q, "answer": a, "q_lang": lang, "location": loc,
    "modality": mod, "answer_type": at, "base_type": "vqa", "content_type": ct_,
    "triple": ["vhead", "_", "_"], "qid": qid}
write("slake/SLAKE/train.json", json.dumps([
    sl(1, "xmlab1/source.jpg", "What modality is used to take this image?", "MRI", "en", "Brain", "MRI", "OPEN", "Modality", 0),
    sl(1, "xmlab1/source.jpg", "这张图片采用的是什么成像方式?", "核磁共振", "zh", "Brain", "MRI", "OPEN", "Modality", 1),
    sl(2, "xmlab2/source.jpg", "Does the picture contain liver?", "No", "en", "Chest_lung", "CT", "CLOSED", "Organ", 2),
    # malformed: no img_name
    {"img_id": 2, "question": "Where is the lesion?", "answer": "Left Lung", "q_lang": "en", "qid": 3},
], ensure_ascii=False, indent=1))
write("slake/SLAKE/validation.json", json.dumps([
    sl(2, "xmlab2/source.jpg", "Which organ is abnormal?", "Lung", "en", "Chest_lung", "CT", "OPEN", "Abnormality", 4),
], indent=1))
write("slake/SLAKE/test.json", json.dumps([
    sl(1, "xmlab1/source.jpg", "Is this a T1 weighted image?", "Yes", "en", "Brain", "MRI", "CLOSED", "Modality", 5),
], indent=1))

# --- PMC-VQA: train.csv / test.csv + images/ --------------------------------
reset("pmc-vqa")
save(us(), "pmc-vqa/images/PMC8253867_Fig1_41.jpg", quality=90)
save(ct(), "pmc-vqa/images/PMC7125455_F2_6.jpg", quality=90)
hdr = ["Figure_path", "Question", "Answer", "Choice A", "Choice B", "Choice C", "Choice D", "Answer_label"]
write_csv("pmc-vqa/train.csv", hdr, [
    ["PMC8253867_Fig1_41.jpg", "What imaging modality was used to acquire this image?", "Ultrasound",
     " A:CT scan ", " B:Ultrasound ", " C:MRI ", " D:X-ray ", "B"],
    ["PMC7125455_F2_6.jpg", "Which organ shows the abnormality?", "Lung", " A:Liver", " B:Heart", " C:Lung", " D:Kidney", "C"],
    ["PMC7125455_F2_6.jpg", "What is seen in the right lobe?", "Nodule", " A:Nodule", " B:Cyst", " C:Mass", " D:None", "E"],
])
write_csv("pmc-vqa/test.csv", hdr, [
    ["PMC7125455_F2_6.jpg", "What is the plane of this image?", "Axial", " A:Axial", " B:Sagittal", " C:Coronal", " D:Oblique", "A"],
])
# The second release: train_2.csv / test_2.csv (index, caption, split
# columns; Answer holds the letter) + figures/.
save(us(), "pmc-vqa/figures/PMC8253867_Fig1_41.jpg", quality=90)
save(ct(), "pmc-vqa/figures/PMC7125455_F2_6.jpg", quality=90)
us_cap = "Transabdominal ultrasound showing a distended gallbladder with a thickened wall."
ct_cap = "Axial chest CT showing a nodule in the right upper lobe."
hdr2 = ["index", "Figure_path", "Caption", "Question", "Choice A", "Choice B", "Choice C", "Choice D", "Answer", "split"]
write_csv("pmc-vqa/train_2.csv", hdr2, [
    [0, "PMC8253867_Fig1_41.jpg", us_cap, "What imaging modality was used to acquire this image?",
     " A:CT scan ", " B:Ultrasound ", " C:MRI ", " D:X-ray ", "B", "train"],
    [1, "PMC8253867_Fig1_41.jpg", us_cap, "Which organ is distended?", "A:Liver", "B:Gallbladder", "C:Kidney", "D:Spleen", "B", "train"],
    [2, "PMC7125455_F2_6.jpg", ct_cap, "What is seen in the right lobe?", "A:Nodule", "B:Cyst", "C:Mass", "D:None", "E", "train"],
])
write_csv("pmc-vqa/test_2.csv", hdr2, [
    [0, "PMC7125455_F2_6.jpg", ct_cap, "Which organ shows the abnormality?", "A:Liver", "B:Heart", "C:Lung", "D:Kidney", "C", "test"],
])

# --- MIMIC-CXR and MIMIC-CXR-JPG side by side, as a PhysioNet download puts
# them (physionet.org/files/<project>/<version>/): the reports (files/pXX/
# pNNN/sNNN.txt, from mimic-cxr-reports.zip) in mimic-cxr/2.0.0, the JPGs and
# the split, metadata and CheXpert CSVs in mimic-cxr-jpg/2.1.0 -------------
reset("mimic-cxr")
R, J = "mimic-cxr/physionet.org/files/mimic-cxr/2.0.0/", "mimic-cxr/physionet.org/files/mimic-cxr-jpg/2.1.0/"
write("mimic-cxr/physionet.org/files/mimic-cxr/2.0.0/files/p10/p10000032/s50414267.txt", """                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)
 
 INDICATION:  ___F with new onset ascites  // eval for infection
 
 TECHNIQUE:  Chest PA and lateral
 
 COMPARISON:  None.
 
 FINDINGS: 
 
 There is no focal consolidation, pleural effusion or pneumothorax.  Bilateral
 nodular opacities that most likely represent nipple shadows. The
 cardiomediastinal silhouette is normal.  Clips project over the left lung,
 potentially within the breast. The imaged upper abdomen is unremarkable.
 Chronic deformity of the posterior left sixth and seventh ribs are noted.
 
 IMPRESSION: 
 
 No acute cardiopulmonary process.
""")
save(mr(), "mimic-cxr/physionet.org/files/mimic-cxr-jpg/2.1.0/files/p10/p10000032/s50414267/02aa804e-bde0afdd-112c0b34-7bc16630-4e384014.jpg", quality=90)
save(ct(), "mimic-cxr/physionet.org/files/mimic-cxr-jpg/2.1.0/files/p10/p10000032/s50414267/174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962.jpg", quality=90)
write("mimic-cxr/physionet.org/files/mimic-cxr/2.0.0/files/p10/p10000032/s53189527.txt", """                                 FINAL REPORT
 EXAMINATION:  CHEST (PORTABLE AP)
 
 INDICATION:  ___ year old woman with cirrhosis  // ?pna
 
 IMPRESSION:  
 
 Compared to prior chest radiographs ___ through ___.
 
 Previous mild pulmonary edema has resolved.  Heart size is normal.
""")
save(ct(), "mimic-cxr/physionet.org/files/mimic-cxr-jpg/2.1.0/files/p10/p10000032/s53189527/2a2277a9-b0ded155-c0de8eb9-c124d10e-82c5caab.jpg", quality=90)
# malformed: no FINDINGS / IMPRESSION section
write("mimic-cxr/physionet.org/files/mimic-cxr/2.0.0/files/p10/p10000764/s57375967.txt", """                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)
 
 INDICATION:  ___M with hypoxia
 
 Wet read only: no final sections.
""")
save(mr(), "mimic-cxr/physionet.org/files/mimic-cxr-jpg/2.1.0/files/p10/p10000764/s57375967/096052b7-d256dc40-453a102b-fa7d01c6-1b22c6b4.jpg", quality=90)
buf = io.StringIO()
w = csv.writer(buf, lineterminator="\n")
w.writerow(["dicom_id", "study_id", "subject_id", "split"])
w.writerows([
    ["02aa804e-bde0afdd-112c0b34-7bc16630-4e384014", "50414267", "10000032", "train"],
    ["174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962", "50414267", "10000032", "train"],
    ["2a2277a9-b0ded155-c0de8eb9-c124d10e-82c5caab", "53189527", "10000032", "validate"],
    ["096052b7-d256dc40-453a102b-fa7d01c6-1b22c6b4", "57375967", "10000764", "test"],
])
with open(os.path.join(HERE, "mimic-cxr/physionet.org/files/mimic-cxr-jpg/2.1.0/mimic-cxr-2.0.0-split.csv.gz"), "wb") as f:
    with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as z:
        z.write(buf.getvalue().encode())

def write_gz_csv(path, header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    with open(os.path.join(HERE, path), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as z:
            z.write(buf.getvalue().encode())
write_gz_csv(J + "mimic-cxr-2.0.0-metadata.csv.gz",
    ["dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition", "Rows", "Columns",
     "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning", "ViewCodeSequence_CodeMeaning",
     "PatientOrientationCodeSequence_CodeMeaning"], [
    ["02aa804e-bde0afdd-112c0b34-7bc16630-4e384014", "10000032", "50414267", "CHEST (PA AND LAT)", "PA", "3056", "2544",
     "21800506", "213014.531", "CHEST (PA AND LAT)", "postero-anterior", "Erect"],
    ["174413ec-4ec4c1f7-34ea26b7-c5f994f8-79ef1962", "10000032", "50414267", "CHEST (PA AND LAT)", "LATERAL", "3056", "2544",
     "21800506", "213014.531", "CHEST (PA AND LAT)", "lateral", "Erect"],
    ["2a2277a9-b0ded155-c0de8eb9-c124d10e-82c5caab", "10000032", "53189527", "CHEST (PA AND LAT)", "PA", "3056", "2544",
     "21800626", "165500.312", "CHEST (PA AND LAT)", "postero-anterior", "Erect"],
    ["096052b7-d256dc40-453a102b-fa7d01c6-1b22c6b4", "10000764", "57375967", "CHEST (PORTABLE AP)", "AP", "2705", "2539",
     "21321015", "104457.000", "CHEST (PORTABLE AP)", "antero-posterior", ""],
])
write_gz_csv(J + "mimic-cxr-2.0.0-chexpert.csv.gz",
    ["subject_id", "study_id", "Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Enlarged Cardiomediastinum",
     "Fracture", "Lung Lesion", "Lung Opacity", "No Finding", "Pleural Effusion", "Pleural Other", "Pneumonia",
     "Pneumothorax", "Support Devices"], [
    ["10000032", "50414267", "", "", "", "", "", "", "", "", "1.0", "", "", "", "", ""],
    ["10000032", "53189527", "", "", "", "", "", "", "", "", "1.0", "", "", "", "", ""],
    ["10000764", "57375967", "", "", "-1.0", "", "", "", "", "", "", "", "", "-1.0", "", ""],
])

# --- NIH ChestX-ray14 as on the NIH Box folder today: Data_Entry_2017_v2020.csv
# (Patient Sex replaces Patient Gender, corrected ages, floats as pandas
# wrote them, every line still ending in a comma) + images_001/images/*.png
reset("chestxray14")
save(ct(), "chestxray14/images_001/images/00000001_000.png")
save(mr(), "chestxray14/images_001/images/00000001_001.png")
save(nm16(), "chestxray14/images_002/images/00000002_000.png")
save(ct(), "chestxray14/images_002/images/00000003_000.png")
save(mr(), "chestxray14/images_002/images/00000004_000.png")
write("chestxray14/Data_Entry_2017_v2020.csv",
      "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Sex,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\n"
      "00000001_000.png,Cardiomegaly,0,1,57,M,PA,2682,2749,0.14300000000000002,0.14300000000000002,\n"
      "00000001_001.png,Cardiomegaly|Emphysema,1,1,58,M,PA,2894,2729,0.14300000000000002,0.14300000000000002,\n"
      "00000002_000.png,No Finding,0,2,81,M,PA,2500,2048,0.171,0.171,\n"
      "00000003_000.png,Hernia,0,3,81,F,PA,2582,2991,0.143,0.143,\n"
      "00000004_000.png,Mass|Nodule,0,4,82,M,AP,2500,2048,0.168,0.168,\n"
      "00000005_000.png,Cardiomegally,0,5,69,F,PA,2048,2500,0.168,0.168,\n"
      "00000006_000.png,No Finding,0,6,60,F,PA,2048,2500,0.168,0.168,\n")
write("chestxray14/train_val_list.txt", "00000001_000.png\n00000001_001.png\n00000002_000.png\n00000004_000.png\n")
write("chestxray14/test_list.txt", "00000003_000.png\n")

# --- CheXpert: CheXpert-v1.0-small/{train,valid}.csv + patient folders -------
reset("chexpert")
labels = ["No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
          "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
          "Fracture", "Support Devices"]
hdr = ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA"] + labels
def row(path, sex, age, fl, ap, vals):
    v = {k: "" for k in labels}
    v.update(vals)
    return [path, sex, age, fl, ap] + [v[k] for k in labels]
save(mr(), "chexpert/CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg", quality=90)
save(ct(), "chexpert/CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg", quality=90)
save(mr(), "chexpert/CheXpert-v1.0-small/train/patient00002/study2/view2_lateral.jpg", quality=90)
save(ct(), "chexpert/CheXpert-v1.0-small/valid/patient64541/study1/view1_frontal.jpg", quality=90)
write_csv("chexpert/CheXpert-v1.0-small/train.csv", hdr, [
    row("CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg", "Female", "68", "Frontal", "AP",
        {"No Finding": "1.0", "Support Devices": "1.0"}),
    row("CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg", "Female", "87", "Frontal", "AP",
        {"Cardiomegaly": "-1.0", "Lung Opacity": "1.0", "Edema": "-1.0", "Fracture": "1.0", "Pleural Effusion": "0.0"}),
    row("CheXpert-v1.0-small/train/patient00002/study2/view2_lateral.jpg", "Female", "87", "Lateral", "",
        {"Cardiomegaly": "-1.0", "Lung Opacity": "1.0", "Edema": "-1.0", "Fracture": "1.0"}),
    row("CheXpert-v1.0-small/train/patient00003/study1/view1_frontal.jpg", "Male", "41", "Frontal", "AP",
        {"Edema": "2.0"}),
])
write_csv("chexpert/CheXpert-v1.0-small/valid.csv", hdr, [
    row("CheXpert-v1.0-small/valid/patient64541/study1/view1_frontal.jpg", "Male", "73", "Frontal", "AP",
        {k: "0.0" for k in labels} | {"Cardiomegaly": "1.0", "Lung Opacity": "1.0", "Support Devices": "1.0"}),
])

# --- CheXpert full resolution as the Stanford AIMI download unpacks
# (chexpertchestxrays-u20210408/): four batch zips, batch 1 holding the CSVs
# and valid/, batches 2-4 holding patientNNNNN/ folders without a train/
# level, while Path still reads CheXpert-v1.0/train/patientNNNNN/... --------
full = "chexpert/chexpertchestxrays-u20210408/"
b1 = full + "CheXpert-v1.0 batch 1 (validate & csv)/"
save(mr(), full + "CheXpert-v1.0 batch 2 (train 1)/patient00001/study1/view1_frontal.jpg", quality=90)
save(ct(), full + "CheXpert-v1.0 batch 3 (train 2)/patient00002/study2/view1_frontal.jpg", quality=90)
save(mr(), full + "CheXpert-v1.0 batch 3 (train 2)/patient00002/study2/view2_lateral.jpg", quality=90)
save(ct(), b1 + "valid/patient64541/study1/view1_frontal.jpg", quality=90)
write_csv(b1 + "train.csv", hdr, [
    row("CheXpert-v1.0/train/patient00001/study1/view1_frontal.jpg", "Female", "68", "Frontal", "AP",
        {"No Finding": "1.0", "Support Devices": "1.0"}),
    row("CheXpert-v1.0/train/patient00002/study2/view1_frontal.jpg", "Female", "87", "Frontal", "AP",
        {"Cardiomegaly": "-1.0", "Lung Opacity": "1.0", "Edema": "-1.0", "Fracture": "1.0", "Pleural Effusion": "0.0"}),
    row("CheXpert-v1.0/train/patient00002/study2/view2_lateral.jpg", "Female", "87", "Lateral", "",
        {"Cardiomegaly": "-1.0", "Lung Opacity": "1.0", "Edema": "-1.0", "Fracture": "1.0"}),
    # malformed: an image in no batch folder
    row("CheXpert-v1.0/train/patient00004/study1/view1_frontal.jpg", "Male", "41", "Frontal", "AP",
        {"Edema": "1.0"}),
])
write_csv(b1 + "valid.csv", hdr, [
    row("CheXpert-v1.0/valid/patient64541/study1/view1_frontal.jpg", "Male", "73", "Frontal", "AP",
        {k: "0.0" for k in labels} | {"Cardiomegaly": "1.0", "Lung Opacity": "1.0", "Support Devices": "1.0"}),
])

# --- VinDr-CXR: annotations/image_labels_train.csv + train/<id>.dicom -------
reset("vindr-cxr")
vl = ["Aortic enlargement", "Atelectasis", "Calcification", "Cardiomegaly", "Clavicle fracture", "Consolidation",
      "Edema", "Emphysema", "Enlarged PA", "ILD", "Infiltration", "Lung Opacity", "Lung cavity", "Lung cyst",
      "Mediastinal shift", "Nodule/Mass", "Pleural effusion", "Pleural thickening", "Pneumothorax",
      "Pulmonary fibrosis", "Rib fracture", "Other lesion", "COPD", "Lung tumor", "Pneumonia", "Tuberculosis",
      "Other diseases", "No finding"]
def vrow(iid, rad, pos):
    return [iid, rad] + ["1" if l in pos else "0" for l in vl]
ids = ["000434271f63a053c4128a0ba6352c7f", "00053190460d56c53cc3e57321387478", "0005e8e3701dfb1dd93d53e2ff537b6e"]
os.makedirs(os.path.join(HERE, "vindr-cxr/1.0.0/train"), exist_ok=True)
shutil.copy(os.path.join(PYDICOM, "CT_small.dcm"), os.path.join(HERE, "vindr-cxr/1.0.0/train", ids[0] + ".dicom"))
shutil.copy(os.path.join(PYDICOM, "MR_small.dcm"), os.path.join(HERE, "vindr-cxr/1.0.0/train", ids[1] + ".dicom"))
shutil.copy(os.path.join(PYDICOM, "MR_small.dcm"), os.path.join(HERE, "vindr-cxr/1.0.0/train", ids[2] + ".dicom"))
rows = [
    vrow(ids[0], "R10", {"No finding"}), vrow(ids[0], "R8", {"No finding"}), vrow(ids[0], "R9", {"No finding"}),
    vrow(ids[1], "R10", {"Aortic enlargement", "Cardiomegaly"}), vrow(ids[1], "R9", {"Cardiomegaly"}),
    vrow(ids[1], "R8", {"Cardiomegaly", "Pleural thickening"}),
    vrow(ids[2], "R11", {"Nodule/Mass"}), vrow(ids[2], "R12", {"Nodule/Mass"}),
]
rows.append([ids[2], "R13"] + ["x"] + ["0"] * (len(vl) - 1))
write_csv("vindr-cxr/1.0.0/annotations/image_labels_train.csv", ["image_id", "rad_id"] + vl, rows)

# --- Radiopaedia cases in RadFM's released files ----------------------------
# File names from RadFM's README and src/Dataset/multi_dataset.py
# (radiology_article_npy_{train,test}.json, radio_modality_{train,test}.csv,
# radiology_vqa_{train,test}.csv); image paths recorded as RadFM's scripts
# wrote them: nii2npy_for_radiopaedio.py saves ../processed_file/
# processed_images/<case>_<i>.npy, jpg2nii_data_convert.py saves
# <...>/processed_file/npys/<case>/<image>/<series>.nii.gz under an absolute
# root on the authors' cluster.
reset("radiopaedia")
RP = "radiopaedia/processed_file"
vol = np.asarray(nib.load(os.path.join(NIBABEL, "anatomical.nii")).dataobj).astype(np.float32)
def rp_npy(path, arrays):
    """(S, C=3, H, W, D) float32, each image min-max scaled, as RadFM stores them."""
    out = []
    for a in arrays:
        a = (a - a.min()) / max(a.max() - a.min(), 1e-9)
        out.append(np.stack([a, a, a]))
    p = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    np.save(p, np.stack(out).astype(np.float32))
def rp_nii(path, a):
    """One NIfTI-1 .nii.gz (1 mm voxels, identity affine) as jpg2nii writes them."""
    p = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    img = nib.Nifti1Image(a, np.eye(4))
    # A fixed header (no timestamps in .nii.gz: write through gzip with mtime 0).
    with gzip.GzipFile(p, "wb", mtime=0) as f:
        f.write(img.to_bytes())
# one 3D series (24x20 in-plane, 4 slices) and one 2D image (depth 1)
rp_npy(RP + "/processed_images/12345_0.npy", [vol[4:28, 10:30, 10:14]])
mri = np.asarray(mr(), dtype=np.float32)[::4, ::4]
rp_npy(RP + "/processed_images/67890_0.npy", [mri[:, :, None], mri[::-1, :, None]])
rp_npy(RP + "/processed_images/24680_0.npy", [vol[4:20, 10:26, 12:16]])
rp_npy(RP + "/processed_images/13579_0.npy", [vol[4:20, 10:26, 8:12]])
rp_nii(RP + "/npys/12345/1/MRI_0.nii.gz", vol[4:28, 10:30, 10:14].astype(np.int16))
rp_nii(RP + "/npys/67890/1/X-ray_0.nii.gz", np.asarray(mr(), dtype=np.uint8)[::4, ::4, None])
rp_nii(RP + "/npys/24680/1/MRI_0.nii.gz", vol[4:20, 10:26, 12:16].astype(np.int16))
CLUSTER = "/mnt/petrelfs/share_data/zhangxiaoman/DATA/Radio_VQA/processed_file"
cases = [
    {"pre": "Headache for two weeks.", "pat": "45 years old, female.", "npy_path": "../processed_file/processed_images/12345_0.npy",
     "finding": "Large heterogeneously enhancing mass in the right frontal lobe with surrounding vasogenic oedema.",
     "impression": "Appearances are most consistent with a high-grade glioma.",
     "articles": ["Glioblastoma is the most common primary malignant brain tumour in adults."],
     "title": "Glioblastoma",
     "radiographic_features": ["Thick irregular enhancing margin.", "Central necrosis."]},
    {"pre": "Cough and fever.", "pat": "30 years old, male.", "npy_path": CLUSTER + "/processed_images/67890_0.npy",
     "finding": "Right lower lobe consolidation with air bronchograms.", "impression": "",
     "articles": [], "title": "Lobar pneumonia", "radiographic_features": ["Air bronchograms."]},
    {"pre": "Seizure.", "pat": "60 years old, male.", "npy_path": "../processed_file/processed_images/24680_0.npy",
     "finding": "Ring-enhancing lesion in the left parietal lobe.", "impression": "Glioblastoma likely.",
     "articles": [], "title": "Glioblastoma", "radiographic_features": []},
    {"pre": "Trauma.", "pat": "22 years old, male.", "finding": "Fracture.", "impression": "",
     "articles": [], "title": "Rib fracture", "radiographic_features": []},
]
# The test list records a folder without a processed_file segment: only
# path_rewrite finds it.
test_cases = [
    {"pre": "Headache.", "pat": "50 years old, male.", "npy_path": "/gpfs/home/cs/leijiayu/radiopaedia/npy/13579_0.npy",
     "finding": "Enhancing extra-axial mass along the falx.", "impression": "Meningioma.",
     "articles": ["Meningiomas are the most common extra-axial intracranial tumours."],
     "title": "Meningioma", "radiographic_features": ["Dural tail."]},
]
# golden probes of the npy layout, read back by npy_test.go: value of
# array[s, c, h, w, d] at a few coordinates.
probes = []
for path in [RP + "/processed_images/12345_0.npy", RP + "/processed_images/67890_0.npy"]:
    a = np.load(os.path.join(HERE, path))
    rng = np.random.RandomState(7)
    for _ in range(8):
        idx = tuple(int(rng.randint(0, n)) for n in a.shape)
        probes.append({"file": path, "shape": list(a.shape), "index": list(idx), "value": float(a[idx])})
os.makedirs(os.path.join(HERE, "golden"), exist_ok=True)
write("golden/npy_probes.json", json.dumps(probes, indent=1))
write("radiopaedia/radiology_article_npy_train.json", json.dumps(cases, indent=4))
write("radiopaedia/radiology_article_npy_test.json", json.dumps(test_cases, indent=4))
write_csv("radiopaedia/radio_modality_train.csv", ["image_path", "answer"], [
    [CLUSTER + "/npys/12345/1/MRI_0.nii.gz", "MRI"], [CLUSTER + "/npys/67890/1/X-ray_0.nii.gz", "X-ray"],
    [CLUSTER + "/npys/24680/1/MRI_0.nii.gz", "MRI"], ["", "CT"]])
write_csv("radiopaedia/radiology_vqa_train.csv", ["image_path", "question", "answer"], [
    ["../processed_file/processed_images/12345_0.npy", "Which lobe is involved?", "The right frontal lobe."]])

# --- MedPix-style cases (RadFM CSV shapes) -----------------------------------
reset("medpix")
save(ct(), "medpix/images/MPX1009_synpic46283.png")
save(mr(), "medpix/images/MPX1009_synpic46284.png")
save(mr(), "medpix/images/MPX2231_synpic51234.png")
save(us(), "medpix/images/MPX3010_synpic60001.png")
write_csv("medpix/MedPix_single_train.csv", ["type", "context", "name"], [
    ["modality", "CT - noncontrast", "MPX1009_synpic46283.png"],
    ["modality", "MR - T2 weighted", "MPX2231_synpic51234.png"],
    ["modality", "US - Ultrasound", "MPX3010_synpic60001.png"],
    ["plane", "Axial", "MPX1009_synpic46283.png"],
    ["plane", "Sagittal", "MPX2231_synpic51234.png"],
    ["caption", "Axial non-contrast CT shows a hyperdense lesion in the right basal ganglia.", "MPX1009_synpic46283.png"],
    ["colour", "red", "MPX1009_synpic46283.png"],
])
write_csv("medpix/MedPix_multi_train.csv", ["type", "context", "history", "name"], [
    ["findings", "• Hyperdense right basal ganglia haemorrhage.\n• Mild mass effect.", "65 year old man with sudden left weakness.",
     "MPX1009_synpic46283.png,MPX1009_synpic46284.png"],
    ["ddx", "Hypertensive haemorrhage, amyloid angiopathy, haemorrhagic tumour", "65 year old man with sudden left weakness.",
     "MPX1009_synpic46283.png,MPX1009_synpic46284.png"],
    ["discussion", "Hypertensive haemorrhages typically occur in the basal ganglia and thalamus.", "",
     "MPX1009_synpic46283.png"],
])
write_csv("medpix/MedPix_questions_train.csv", ["question", "answer", "explanation", "name"], [
    ["Where is the haemorrhage located?", "Right basal ganglia", "The hyperdense focus lies lateral to the internal capsule.",
     "MPX1009_synpic46283.png"],
])
# --- MedPix 2.0 (github.com/CHILab1/MedPix-2.0, folder MedPix-2-0/) ---------
# Keys, ids, image names and split membership as in the repository's
# Case_topic.json, Descriptions.json and splitted_dataset/uid_list.json; texts
# shortened paraphrases. The last Descriptions record has no image name.
reset("medpix2")
M2 = "medpix2/MedPix-2-0"
for name, img in [("MPX1009_synpic46283", ct()), ("MPX1009_synpic46295", ct()), ("MPX1024_synpic40275", ct()),
                  ("MPX1024_synpic40277", ct()), ("MPX2483_synpic27408", ct()), ("MPX2483_synpic27405", mr())]:
    save(img, M2 + "/images/" + name + ".png")
def m2case(uid, tac, mri, case, topic):
    return {"U_id": uid, "TAC": tac, "MRI": mri, "Case": case, "Topic": topic}
m2cases = [
    m2case("MPX1009", ["MPX1009_synpic46283", "MPX1009_synpic46295"], [],
           {"Title": "Bladder Diverticulum", "History": "73-year-old man with haematuria.", "Exam": "N/A",
            "Findings": "Thick-walled bladder with a right-sided diverticulum.\n\nEnlarged prostate.",
            "Differential Diagnosis": "Bladder Diverticulum", "Case Diagnosis": "Bladder Diverticulum", "Diagnosis By": "N/A"},
           {"Title": "Bladder Diverticulum", "Disease Discussion": "Bladder diverticula usually follow outlet obstruction.",
            "ACR Code": "8.9", "Category": "Diverticulum"}),
    m2case("MPX1024", ["MPX1024_synpic40275", "MPX1024_synpic40277"], [],
           {"Title": "Left upper lobe collapse from an obstructing small cell carcinoma.",
            "History": "60-year-old woman with chest pain and dyspnoea.",
            "Findings": "• Left upper lobe volume loss with an obstructing hilar mass.",
            "Differential Diagnosis": "Left upper lobe collapse; central bronchogenic carcinoma.",
            "Case Diagnosis": "Left upper lobe collapse from an obstructing small cell carcinoma.",
            "Diagnosis By": "Lung biopsy.", "Discussion": "Collapse of the left upper lobe with a hilar mass suggests an obstructing tumour."},
           {"Title": "Lobar collapse", "Disease Discussion": "Lobar collapse follows bronchial obstruction.",
            "ACR Code": "6.3", "Category": "Neoplasm, carcinoma", "Keywords": "collapse"}),
    m2case("MPX2483", ["MPX2483_synpic27408"], ["MPX2483_synpic27405"],
           {"Case Diagnosis": "Ventriculoperitoneal shunt failure from tubing disconnection.",
            "Diagnosis By": "Imaging before and after shunt revision.",
            "Differential Diagnosis": "Shunt disconnection.", "Discussion": "Please see factoid.", "Exam": "N/A",
            "Findings": "Lateral ventricles enlarged compared with the MRI from 3 months before.",
            "History": "17-year-old man with new headaches and a VP shunt.", "Media": None,
            "Title": "Ventriculoperitoneal shunt failure from tubing disconnection.", "Treatment & Follow Up": "Shunt revision."},
           {"ACR Code": "1.9", "Category": "Unsure", "Disease Discussion": "Hydrocephalus disturbs CSF formation, flow or absorption.",
            "Title": "Ventriculoperitoneal Shunt Failure"}),
]
def m2desc(ty, uid, image, age, sex, caption, modality, plane, loc, cat):
    return {"Type": ty, "U_id": uid, "image": image,
            "Description": {"ACR Codes": "-1.-1", "Age": age, "Caption": caption, "Figure Part": None,
                            "Modality": modality, "Plane": plane, "Sex": sex},
            "Location": loc, "Location Category": cat}
m2descs = [
    m2desc("CT", "MPX1009", "MPX1009_synpic46283", "73", "male", "Enlarged prostate with calcifications.", "CT - noncontrast", "Coronal",
           "Genitourinary", "Reproductive and Urinary System"),
    m2desc("CT", "MPX1009", "MPX1009_synpic46295", "73", "male", "Small right posterolateral bladder diverticulum.", "CT - noncontrast", "Axial",
           "Genitourinary", "Reproductive and Urinary System"),
    m2desc("CT", "MPX1024", "MPX1024_synpic40275", "60", "female", "Obstructing mass with left upper lobe collapse.", "CT w/contrast (IV)", "Axial",
           "Chest, Pulmonary", "Thorax"),
    m2desc("CT", "MPX1024", "MPX1024_synpic40277", "60", "female", "Obstructing mass with left upper lobe collapse.", "CT w/contrast (IV)", "Axial",
           "Chest, Pulmonary", "Thorax"),
    m2desc("CT", "MPX2483", "MPX2483_synpic27408", "17", "male", "Non-contrast head CT: enlarged lateral ventricles.", "CT - noncontrast", "Axial",
           "Head and Neck", "Head"),
    m2desc("MR", "MPX2483", "MPX2483_synpic27405", "17", "male", "Axial T2 MRI: baseline ventricular size.", "MR - T2 weighted", "Axial",
           "Head and Neck", "Head"),
    m2desc("MR", "MPX2483", "", "17", "male", "A record without its image name.", "MR - T2 weighted", "Sagittal",
           "Head and Neck", "Head"),
]
write(M2 + "/Case_topic.json", json.dumps(m2cases, indent=4, ensure_ascii=False))
write(M2 + "/Descriptions.json", json.dumps(m2descs, indent=4, ensure_ascii=False))
write(M2 + "/splitted_dataset/uid_list.json", json.dumps(
    {"train": ["MPX1024"], "train_1": ["MPX1024"], "train_2": [], "dev": ["MPX1009", "MPX2483"], "test": []}))

# --- CheXpert Plus (Stanford AIMI; github.com/Stanford-AIMI/chexpert-plus) ---
# df_chexpert_plus_240401.csv with its 27 columns (names and order as quoted
# in public code that loads it), PNG/ tree with .png names for the .jpg
# paths, CheXbert labels as JSON Lines (keys as the repository README shows).
reset("chexpert-plus")
CP = "chexpert-plus"
cp_cols = ["path_to_image", "path_to_dcm", "frontal_lateral", "ap_pa", "deid_patient_id", "patient_report_date_order",
           "report", "section_narrative", "section_clinical_history", "section_history", "section_comparison",
           "section_technique", "section_procedure_comments", "section_findings", "section_impression",
           "section_end_of_impression", "section_summary", "section_accession_number", "age", "sex", "race",
           "ethnicity", "interpreter_needed", "insurance_type", "recent_bmi", "deceased", "split"]
def cp_row(p, fl, ap, pid, order, hist, find, imp, age, sex, split):
    rep = " ".join(x for x in ["NARRATIVE: CHEST.", "CLINICAL HISTORY: " + hist if hist else "",
                               "FINDINGS: " + find if find else "", "IMPRESSION: " + imp if imp else ""] if x)
    v = {"path_to_image": p, "path_to_dcm": p.replace(".jpg", ".dcm") if p else "", "frontal_lateral": fl, "ap_pa": ap,
         "deid_patient_id": pid, "patient_report_date_order": order, "report": rep, "section_narrative": "CHEST.",
         "section_clinical_history": hist, "section_findings": find, "section_impression": imp,
         "age": age, "sex": sex, "race": "Unknown", "ethnicity": "Unknown", "interpreter_needed": "No",
         "insurance_type": "Unknown", "recent_bmi": "", "deceased": "No", "split": split}
    return [v.get(c, "") for c in cp_cols]
small = lambda im: im.resize((64, 64))
save(small(ct()), CP + "/PNG/train/patient00001/study1/view1_frontal.png")
save(small(mr()), CP + "/PNG/train/patient00001/study1/view2_lateral.png")
save(small(ct()), CP + "/PNG/train/patient00002/study2/view1_frontal.png")
save(small(mr()), CP + "/PNG/valid/patient64541/study1/view1_frontal.png")
write_csv(CP + "/df_chexpert_plus_240401.csv", cp_cols, [
    cp_row("train/patient00001/study1/view2_lateral.jpg", "Lateral", "", "patient00001", "1",
           "Shortness of breath.", "Low lung volumes. Small left pleural effusion.", "Small left pleural effusion.", "68", "Female", "train"),
    cp_row("train/patient00001/study1/view1_frontal.jpg", "Frontal", "AP", "patient00001", "1",
           "Shortness of breath.", "Low lung volumes. Small left pleural effusion.", "Small left pleural effusion.", "68", "Female", "train"),
    cp_row("train/patient00002/study2/view1_frontal.jpg", "Frontal", "PA", "patient00002", "2",
           "", "", "No acute cardiopulmonary process.", "41", "Male", "train"),
    cp_row("valid/patient64541/study1/view1_frontal.jpg", "Frontal", "AP", "patient64541", "1",
           "Line placement.", "", "", "73", "Male", "valid"),
    cp_row("", "Frontal", "AP", "patient00003", "1", "", "Clear lungs.", "Normal.", "50", "Male", "train"),
])
def cb(p, **v):
    rec = {"path_to_image": p}
    for l in ["Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema", "Consolidation",
              "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture",
              "Support Devices", "No Finding"]:
        rec[l] = v.get(l.replace(" ", "_"))
    return json.dumps(rec)
write(CP + "/chexbert_labels/impression_fixed.json", "\n".join([
    cb("train/patient00001/study1/view1_frontal.jpg", Pleural_Effusion=1.0, Atelectasis=-1.0),
    cb("train/patient00001/study1/view2_lateral.jpg", Pleural_Effusion=1.0, Atelectasis=-1.0),
    cb("train/patient00002/study2/view1_frontal.jpg", No_Finding=1.0),
]) + "\n")

# --- A DICOM in a transfer syntax medmd will not decode (MPEG-2 video) -------
# CT_small.dcm re-labelled 1.2.840.10008.1.2.4.100 with one encapsulated
# fragment: the tests put it in a VinDr-CXR copy to check that the image is
# quarantined and counted under its transfer syntax.
reset("dicom-syntax")
from pydicom.encaps import encapsulate
from pydicom.uid import UID
d = pydicom.dcmread(os.path.join(PYDICOM, "CT_small.dcm"))
d.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.100")
d.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 60])
d["PixelData"].VR = "OB"
os.makedirs(os.path.join(HERE, "dicom-syntax"), exist_ok=True)
d.is_implicit_VR, d.is_little_endian = False, True
d.save_as(os.path.join(HERE, "dicom-syntax", "mpeg2.dicom"), write_like_original=False)

print("fixtures written")
